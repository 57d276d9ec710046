-- Episode counts per time in program (and per breakdown group): the small
-- table behind the Kaplan-Meier / Aalen-Johansen estimates (analytics/survival.py)
-- and the outcome counts and median length of stay (analytics/outcomes.py).
-- Aggregating here keeps a few hundred rows, not one per episode, crossing
-- into Python, and one scan serves both. `episode_times` is prefixed as a CTE
-- by analytics/retention.py; /*dimension*/ is a fixed expression from
-- analytics/breakdowns.py.
SELECT
    /*dimension*/ AS grp,
    time,
    count(*) FILTER (WHERE event = 1) AS unplanned,
    count(*) FILTER (WHERE event = 2) AS other,
    count(*) FILTER (WHERE event = 0) AS censored,
    count(*) FILTER (WHERE discharge_reason = 'completed') AS completed
FROM episode_times
GROUP BY ALL
ORDER BY grp, time
