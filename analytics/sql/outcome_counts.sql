-- Headline outcome counts over the selected episodes, in one pass.
-- Why median() on integer days: DuckDB's median is quantile_cont(0.5), which
-- for an even count is the mean of the two middle values, as defined.
-- A discharge after as_of is already NULL (active) in selected_episodes().
SELECT
    count(*)                                                        AS episodes,
    count(*) FILTER (WHERE discharge_date IS NULL)                  AS active_episodes,
    count(*) FILTER (WHERE discharge_date IS NOT NULL)              AS discharged,
    count(*) FILTER (WHERE discharge_reason = 'completed')          AS completed,
    count(*) FILTER (WHERE discharge_reason IN ('dropped_out', 'terminated')) AS unplanned,
    median(discharge_date - admit_date) FILTER (WHERE discharge_date IS NOT NULL)
                                                                    AS median_los_days,
    count(DISTINCT patient_id)                                      AS patients
FROM main.selected_episodes()
