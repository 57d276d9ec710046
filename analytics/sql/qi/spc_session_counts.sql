-- Session counts per week or month, for the attendance and no-show p-charts.
-- The counts are the macro session_attendance_counts(), as in the headline figures,
-- so a chart's points add up to the headline rate.
-- Only complete periods (period_ended()): the week or month still running on
-- as_of would plot a partial point that looks like a signal.
WITH counted AS (
    SELECT
        CAST(date_trunc($grain, session_date) AS DATE)   AS period,
        session_attendance_counts(status, sessions)      AS c,
        count(DISTINCT patient_id)                       AS patients
    FROM main.counted_sessions($completion_share)
    GROUP BY period
)
SELECT period, c.expected, c.attended, c.no_show, c.patient_cancelled, patients
FROM counted
WHERE period_ended(period, $grain, getvariable('as_of'))
ORDER BY period
