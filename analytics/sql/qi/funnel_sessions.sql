-- Attendance per program and unit (site, or the session's own clinician), for
-- funnel plots. /*unit*/ is replaced by a fixed column name from funnel_data.UNITS
-- (never user text). Counts as in session_counts.sql: expected is the macro
-- expected_session (analytics/macros.py). Sessions without a clinician are left
-- out of the clinician funnel rather than pooled into a made-up unit.
SELECT
    program,
    /*unit*/                                                       AS unit,
    count(*) FILTER (WHERE status = 'attended')                    AS attended,
    count(*) FILTER (WHERE status = 'no_show')                     AS no_show,
    count(*) FILTER (WHERE expected_session(status))               AS expected,
    count(DISTINCT patient_id)                                     AS patients
FROM main.selected_sessions()
WHERE /*unit*/ IS NOT NULL
GROUP BY ALL
ORDER BY program, unit
