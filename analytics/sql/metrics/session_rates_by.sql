-- Session counts per value of a breakdown dimension (week, month, weekday,
-- session type, clinician, site, program, cohort or an extra enrollment column).
-- /*dimension*/ is a constant expression from analytics/metrics/breakdowns.py.
-- The counts are the macros session_attendance_counts() and session_delivery_counts(),
-- as for the headline figure; sessions.py derives the rates from them the same
-- way too, so the two cannot disagree.
SELECT
    /*dimension*/                   AS dimension_value,
    unnest(session_attendance_counts(status, sessions)),
    unnest(session_delivery_counts(status, sessions, completed, scheduled_minutes, attended_minutes)),
    count(DISTINCT episode_id)      AS episodes,
    count(DISTINCT patient_id)      AS patients
FROM main.counted_sessions($completion_share)
GROUP BY dimension_value
ORDER BY dimension_value
