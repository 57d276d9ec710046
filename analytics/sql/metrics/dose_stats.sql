-- (continues episode_weeks.sql) Dose figures per group, or per group and program
-- week 1..12 when $by_week: complete episode-weeks, the share at or above their
-- program's target, mean hours and the 10/25/50/75/90th percentiles of weekly
-- hours, with the episodes and patients behind them (for small-cell suppression).
, keyed AS (
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
