-- Completion rate by discharge month: of the episodes discharged in the month,
-- how many completed treatment (TEDS-D reason 1). Discharges after as_of are
-- already NULL in selected_episodes(). Only complete months are charted
-- (period_ended()).
WITH discharged AS (
    SELECT
        CAST(date_trunc('month', discharge_date) AS DATE) AS period,
        patient_id,
        discharge_reason = 'completed' AS completed
    FROM main.selected_episodes()
    WHERE discharge_date IS NOT NULL
)
SELECT
    period,
    count(*) FILTER (WHERE completed) AS completed,
    count(*)                          AS discharged,
    count(DISTINCT patient_id)        AS patients
FROM discharged
WHERE period_ended(period, 'month', getvariable('as_of'))
GROUP BY period
ORDER BY period
