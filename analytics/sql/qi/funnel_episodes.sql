-- Completion and week-4 retention per program and unit (site, or the episode's
-- primary clinician), for funnel plots. /*dimension*/ is the unit's column, from
-- analytics/qi/funnel.py UNITS (checked by breakdowns.with_dimension; never user text).
WITH clinician_minutes AS (
    -- attended minutes per episode and clinician
    SELECT episode_id, clinician, sum(attended_minutes) AS minutes
    FROM main.selected_sessions()
    WHERE status = 'attended' AND clinician IS NOT NULL
    GROUP BY ALL
),
primary_clinician AS (
    -- the clinician with the most attended minutes; a tie goes to the
    -- alphabetically first name, so the choice is the same on every run
    SELECT episode_id, clinician
    FROM (
        SELECT *, row_number() OVER (PARTITION BY episode_id ORDER BY minutes DESC, clinician) AS rn
        FROM clinician_minutes
    )
    WHERE rn = 1
),
episodes AS (
    -- completion: of discharged episodes (reason completed);
    -- retention at week 4: of the episodes followed for 28 days, those retained
    -- (retention_at_week(): macros), which equals the Aalen-Johansen
    -- 1 - CIF_unplanned(28) for these episodes
    SELECT
        e.episode_id, e.patient_id, e.program, e.site, p.clinician,
        e.discharge_date IS NOT NULL                      AS discharged,
        coalesce(e.discharge_reason = 'completed', false) AS completed,
        e.followed                                        AS eligible4,
        e.retained                                        AS retained4
    FROM main.retention_at_week(4, $unplanned) AS e
    LEFT JOIN primary_clinician AS p USING (episode_id)
)
SELECT
    program,
    /*dimension*/                                                   AS unit,
    count(*) FILTER (WHERE discharged AND completed)                AS completed,
    count(*) FILTER (WHERE discharged)                              AS discharged,
    count(*) FILTER (WHERE eligible4 AND retained4)                 AS retained4,
    count(*) FILTER (WHERE eligible4)                               AS eligible4,
    count(DISTINCT patient_id)                                      AS patients,
    count(DISTINCT patient_id) FILTER (WHERE discharged)            AS discharged_patients,
    count(DISTINCT patient_id) FILTER (WHERE eligible4)             AS eligible4_patients
FROM episodes
WHERE /*dimension*/ IS NOT NULL
GROUP BY ALL
ORDER BY program, unit
