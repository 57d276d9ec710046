-- Attendance per program and unit (site, or the session's own clinician), for
-- funnel plots. /*dimension*/ is the unit's column, from analytics/qi/funnel.py
-- UNITS (checked by breakdowns.with_dimension; never user text). The counts are
-- the macro session_attendance_counts(), as in the headline figures. Sessions
-- without a clinician are left out of the clinician funnel rather than pooled
-- into a made-up unit.
WITH counted AS (
    SELECT
        program,
        /*dimension*/                                  AS unit,
        session_attendance_counts(status, sessions)    AS c,
        count(DISTINCT patient_id)                     AS patients
    FROM main.counted_sessions($completion_share)
    WHERE /*dimension*/ IS NOT NULL
    GROUP BY program, unit
)
SELECT program, unit, c.attended, c.no_show, c.expected, patients
FROM counted
ORDER BY program, unit
