-- Episode counts per time in program (and per breakdown group): the small
-- table behind the Kaplan-Meier / Aalen-Johansen estimates (analytics/metrics/survival.py)
-- and the outcome counts and median length of stay (analytics/metrics/discharges.py).
-- Aggregating here keeps a few hundred rows, not one per episode, crossing
-- into Python, and one scan serves both. Times and events are those of the macro
-- episode_times(); /*dimension*/ is a constant expression from
-- analytics/metrics/breakdowns.py.
SELECT
    /*dimension*/ AS grp,
    time,
    count(*) FILTER (WHERE event = 1) AS unplanned,
    count(*) FILTER (WHERE event = 2) AS other,
    count(*) FILTER (WHERE event = 0) AS censored,
    count(*) FILTER (WHERE discharge_reason = 'completed') AS completed
FROM main.episode_times($unplanned)
GROUP BY ALL
ORDER BY grp, time
