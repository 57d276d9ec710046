-- Dose figures per group, or per group and program week 1..12 when $by_week:
-- complete episode-weeks, the share at or above their program's target, mean
-- hours and the 10/25/50/75/90th percentiles of weekly hours, with the episodes
-- and patients behind them (for small-cell suppression). The week rules are the
-- macros' (dose_episodes, complete_week_minutes; docs/metrics.md, "Dose").
--
-- Why counts instead of one row per episode-week: at 10 M sessions there are
-- over a million episode-weeks. Only weeks that had attended sessions are formed
-- (complete_week_minutes); the weeks without any are counted, not listed: per
-- week number, the episodes that reached it minus those with minutes in it.
-- `week_counts` then holds, per group, target, week number and minutes, how many
-- episode-weeks had exactly that many attended minutes. Quantiles and shares
-- computed from it equal those over the rows it stands for.
--
-- `grp` is the breakdown value of an episode: /*dimension*/ is a constant
-- expression from analytics/metrics/breakdowns.py ('all' for the whole selection).
WITH episodes AS MATERIALIZED (
    -- MATERIALIZED: several parts below read it; computed once
    SELECT episode_id, patient_id, target_minutes, complete_weeks, /*dimension*/ AS grp
    FROM main.dose_episodes($target_programs, $target_hours)
),
attended_weeks AS (
    -- complete weeks with attended minutes, counted per group, target, week and minutes
    SELECT e.grp, e.target_minutes, w.week_number, w.minutes, count(*) AS weeks
    FROM main.complete_week_minutes() AS w
    JOIN episodes AS e USING (episode_id)
    GROUP BY ALL
),
reached_weeks AS (
    -- per group and target, how many episodes have week k complete: group the
    -- episodes by their number of complete weeks first, then spread over k
    SELECT grp, target_minutes, unnest(range(1, complete_weeks + 1)) AS week_number, episodes
    FROM (
        SELECT grp, target_minutes, complete_weeks, count(*) AS episodes
        FROM episodes
        WHERE complete_weeks > 0
        GROUP BY ALL
    )
),
zero_weeks AS (
    SELECT r.grp, r.target_minutes, r.week_number, 0 AS minutes,
        sum(r.episodes) - coalesce(any_value(a.weeks), 0) AS weeks
    FROM reached_weeks AS r
    LEFT JOIN (
        SELECT grp, target_minutes, week_number, sum(weeks) AS weeks
        FROM attended_weeks
        GROUP BY ALL
    ) AS a
        ON a.grp IS NOT DISTINCT FROM r.grp
       AND a.target_minutes IS NOT DISTINCT FROM r.target_minutes
       AND a.week_number = r.week_number
    GROUP BY r.grp, r.target_minutes, r.week_number
),
week_counts AS (
    SELECT grp, target_minutes, week_number, minutes, sum(weeks) AS weeks
    FROM (
        SELECT * FROM attended_weeks
        UNION ALL
        SELECT * FROM zero_weeks WHERE weeks > 0
    )
    GROUP BY ALL
),
keyed AS (
    SELECT grp, CASE WHEN $by_week THEN week_number END AS week_key, target_minutes, minutes, weeks
    FROM week_counts
    WHERE NOT $by_week OR week_number <= 12
),
by_minutes AS (
    -- episode-weeks at each minutes value, with the running count in minutes order
    SELECT grp, week_key, minutes, weeks,
        sum(weeks) OVER (PARTITION BY grp, week_key ORDER BY minutes) AS weeks_upto,
        sum(weeks) OVER (PARTITION BY grp, week_key) AS total
    FROM (SELECT grp, week_key, minutes, sum(weeks) AS weeks FROM keyed GROUP BY ALL)
),
positions AS (
    -- continuous quantiles as DuckDB's quantile_cont defines them: position
    -- h = q (n - 1) among the sorted values (0-based), interpolating between the
    -- values at floor(h) and ceil(h). For q = 0.5 and an even n that is the mean
    -- of the two middle values. q is DECIMAL so h is exact.
    SELECT grp, week_key, q, q * (total - 1) AS h
    FROM (SELECT DISTINCT grp, week_key, total FROM by_minutes)
    CROSS JOIN (SELECT unnest([0.10, 0.25, 0.50, 0.75, 0.90]) AS q)
),
quantiles AS (
    SELECT p.grp, p.week_key, p.q,
        min(b.minutes) FILTER (WHERE b.weeks_upto >= floor(p.h) + 1) AS v_lo,
        min(b.minutes) FILTER (WHERE b.weeks_upto >= ceil(p.h) + 1) AS v_hi,
        any_value(p.h - floor(p.h)) AS frac
    FROM positions AS p
    JOIN by_minutes AS b
        ON b.grp IS NOT DISTINCT FROM p.grp AND b.week_key IS NOT DISTINCT FROM p.week_key
    GROUP BY p.grp, p.week_key, p.q
),
quantile_hours AS (
    SELECT grp, week_key,
        max(v) FILTER (WHERE q = 0.10) / 60 AS p10_hours,
        max(v) FILTER (WHERE q = 0.25) / 60 AS p25_hours,
        max(v) FILTER (WHERE q = 0.50) / 60 AS median_weekly_hours,
        max(v) FILTER (WHERE q = 0.75) / 60 AS p75_hours,
        max(v) FILTER (WHERE q = 0.90) / 60 AS p90_hours
    FROM (SELECT grp, week_key, q, (v_lo + frac * (v_hi - v_lo))::DOUBLE AS v FROM quantiles)
    GROUP BY ALL
),
totals AS (
    SELECT grp, week_key,
        sum(weeks)::BIGINT AS episode_weeks,
        coalesce(sum(weeks) FILTER (WHERE minutes >= target_minutes), 0)::BIGINT AS met_weeks,
        sum(weeks * minutes)::DOUBLE / sum(weeks) / 60 AS mean_weekly_hours,
        -- the target when the group has one (a program), NULL when its programs differ
        CASE WHEN min(target_minutes) = max(target_minutes) THEN min(target_minutes) / 60 END
            AS target_hours
    FROM keyed
    GROUP BY ALL
),
reach AS (
    -- episodes and patients with a complete week (week k when $by_week): counted
    -- by their number of complete weeks first (a patient by the longest of their
    -- episodes in the group), then spread over the week numbers they reached
    SELECT grp, complete_weeks, count(*) AS episodes, 0 AS patients
    FROM episodes WHERE complete_weeks > 0 GROUP BY ALL
    UNION ALL
    SELECT grp, complete_weeks, 0, count(*)
    FROM (
        SELECT grp, patient_id, max(complete_weeks) AS complete_weeks
        FROM episodes WHERE complete_weeks > 0 GROUP BY ALL
    )
    GROUP BY ALL
),
people AS (
    SELECT grp, week_key, sum(episodes)::BIGINT AS episodes, sum(patients)::BIGINT AS patients
    FROM (
        SELECT grp, episodes, patients,
            unnest(CASE WHEN $by_week THEN range(1, least(complete_weeks, 12) + 1) ELSE [NULL] END)
                AS week_key
        FROM reach
    )
    GROUP BY ALL
)
SELECT
    t.grp AS dimension_value,
    t.week_key AS week_number,
    t.episode_weeks,
    p.episodes,
    p.patients,
    t.met_weeks,
    t.met_weeks / t.episode_weeks AS dose_target_met_rate,
    q.median_weekly_hours,
    t.mean_weekly_hours,
    q.p10_hours, q.p25_hours, q.p75_hours, q.p90_hours,
    t.target_hours
FROM totals AS t
JOIN quantile_hours AS q
    ON q.grp IS NOT DISTINCT FROM t.grp AND q.week_key IS NOT DISTINCT FROM t.week_key
JOIN people AS p
    ON p.grp IS NOT DISTINCT FROM t.grp AND p.week_key IS NOT DISTINCT FROM t.week_key
ORDER BY t.grp, t.week_key
