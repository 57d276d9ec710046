-- Event counts per time in program (and per breakdown group): the small
-- table the Kaplan-Meier / Aalen-Johansen code in analytics/survival.py needs.
-- Aggregating here keeps a few hundred rows, not one per episode, crossing
-- into Python. `episode_times` is prefixed as a CTE by analytics/retention.py;
-- /*dimension*/ is a fixed expression from analytics/breakdowns.py.
SELECT
    /*dimension*/ AS grp,
    time,
    count(*) FILTER (WHERE event = 1) AS unplanned,
    count(*) FILTER (WHERE event = 2) AS other,
    count(*) FILTER (WHERE event = 0) AS censored
FROM episode_times
GROUP BY ALL
ORDER BY grp, time
