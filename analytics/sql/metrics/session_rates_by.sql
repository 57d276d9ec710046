-- Session counts per value of a breakdown dimension (week, month, weekday,
-- session type, clinician, site, program, cohort or an extra enrollment column).
-- The dimension expression is a constant from analytics/breakdowns.py. Counts
-- only: sessions.py derives the rates from them exactly as for the headline
-- figure, so the two cannot disagree. program_cancelled sessions are counted
-- but kept out of `expected`, the attendance denominator.
SELECT
    /*dimension*/                                                              AS dimension_value,
    count(*) FILTER (WHERE expected_session(status))                           AS expected,
    count(*) FILTER (WHERE status = 'attended')                                AS attended,
    count(*) FILTER (WHERE status = 'no_show')                                 AS no_show,
    count(*) FILTER (WHERE status = 'patient_cancelled')                       AS patient_cancelled,
    count(*) FILTER (WHERE status = 'program_cancelled')                       AS program_cancelled,
    count(*)                                                                   AS scheduled_total,
    count(*) FILTER (WHERE status = 'attended'
        AND attended_minutes >= $completion_share::DECIMAL(9, 6) * scheduled_minutes)
                                                                               AS completed_sessions,
    coalesce(sum(scheduled_minutes) FILTER (WHERE expected_session(status)), 0)::BIGINT
                                                                               AS minutes_scheduled,
    coalesce(sum(attended_minutes) FILTER (WHERE status = 'attended'), 0)::BIGINT AS minutes_attended,
    count(DISTINCT episode_id)                                                 AS episodes,
    count(DISTINCT patient_id)                                                 AS patients
FROM main.selected_sessions()
GROUP BY dimension_value
ORDER BY dimension_value
