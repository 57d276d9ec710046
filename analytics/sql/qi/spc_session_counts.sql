-- Session counts per week or month, for the attendance and no-show p-charts.
-- The counts are the ones session_counts.sql makes (expected: the macro
-- expected_session, analytics/macros.py), so a chart's points add up to the headline rate.
-- Only complete periods: the week or month still running on as_of would plot a
-- partial point that looks like a signal.
WITH counted AS (
    SELECT
        CAST(date_trunc($grain, session_date) AS DATE)                     AS period,
        count(*) FILTER (WHERE expected_session(status))                    AS expected,
        count(*) FILTER (WHERE status = 'attended')                         AS attended,
        count(*) FILTER (WHERE status = 'no_show')                          AS no_show,
        count(*) FILTER (WHERE status = 'patient_cancelled')                AS patient_cancelled,
        count(DISTINCT patient_id)                                          AS patients
    FROM main.selected_sessions()
    GROUP BY 1
)
SELECT *
FROM counted
-- the period's last day: next period start - 1
WHERE CAST(period + CASE WHEN $grain = 'week' THEN INTERVAL 7 DAY ELSE INTERVAL 1 MONTH END AS DATE) - 1
      <= getvariable('as_of')
ORDER BY period
