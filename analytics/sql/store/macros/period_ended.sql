-- The complete-period rule of the control charts and the period tables: the week
-- or month starting on `period_start` counts only once its last day is on or
-- before `by_date` (as_of, or as_of minus a follow-up time). A period still running
-- would plot a partial point that looks like a signal.
-- grain: 'week' (7 days) or 'month'; any other grain never ends.
CREATE OR REPLACE MACRO main.period_ended(period_start, grain, by_date) AS
    CAST(period_start + CASE grain WHEN 'week' THEN INTERVAL 7 DAY WHEN 'month' THEN INTERVAL 1 MONTH END AS DATE) - 1
        <= by_date
