-- The access figures of the selected episodes: waits, NIATx continuation and IET-style
-- initiation and engagement. intake_episodes() (analytics/store/macros.py) holds the
-- rules; this only counts. The distinct patients behind each part are for small-cell
-- suppression; the metrics command has no use for them, so $patients = false skips
-- that work (a FILTER that is false feeds the distinct counts nothing).
SELECT
    count(wait_days)                                                        AS wait_measured,
    -- an even count gives the mean of the two middle values (quantile_cont)
    median(wait_days)                                                       AS median_wait_days,
    count(*) FILTER (WHERE continuation_eligible)                           AS continuation_eligible,
    count(*) FILTER (WHERE continuation_eligible AND care_days_28 >= 1)     AS continued_1,
    count(*) FILTER (WHERE continuation_eligible AND care_days_28 >= 2)     AS continued_2,
    count(*) FILTER (WHERE continuation_eligible AND care_days_28 >= 3)     AS continued_3,
    count(*) FILTER (WHERE continuation_eligible AND care_days_28 >= 4)     AS continued_4,
    count(*) FILTER (WHERE iet_eligible)                                    AS iet_eligible,
    count(*) FILTER (WHERE iet_eligible AND initiation_date IS NOT NULL)    AS initiated,
    count(*) FILTER (WHERE iet_eligible AND engaged)                        AS engaged,
    count(DISTINCT patient_id) FILTER (WHERE $patients AND wait_days IS NOT NULL)   AS wait_patients,
    count(DISTINCT patient_id) FILTER (WHERE $patients AND continuation_eligible)   AS continuation_patients,
    count(DISTINCT patient_id) FILTER (WHERE $patients AND iet_eligible)            AS iet_patients
FROM main.intake_episodes()
