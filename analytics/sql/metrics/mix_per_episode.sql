-- The mix as each episode received it, summarised per session type: for every
-- episode with attended minutes, the type's share of that episode's minutes
-- (0 when it had none of that type); then mean, quartiles and the share of
-- episodes with none. Only the summary (one row per type) leaves DuckDB.
WITH episode_type AS (
    SELECT episode_id, session_type, sum(attended_minutes) AS minutes
    FROM main.session_counts($completion_share)
    WHERE status = 'attended'
    GROUP BY episode_id, session_type
),
episode_total AS (
    SELECT episode_id, sum(minutes) AS total_minutes
    FROM episode_type
    GROUP BY episode_id
    HAVING sum(minutes) > 0
),
types AS (
    SELECT DISTINCT session_type FROM episode_type
),
shares AS (
    -- every (episode, type) pair, so an episode without a type counts as share 0
    SELECT
        t.episode_id, ty.session_type,
        coalesce(et.minutes, 0) / t.total_minutes AS share
    FROM episode_total AS t
    CROSS JOIN types AS ty
    LEFT JOIN episode_type AS et
        ON et.episode_id = t.episode_id AND et.session_type = ty.session_type
)
SELECT
    session_type,
    count(*)                              AS episodes,
    count(*) FILTER (WHERE share > 0)     AS episodes_with_type,
    avg(share)                            AS mean_share,
    quantile_cont(share, 0.25)            AS p25_share,
    median(share)                         AS median_share,
    quantile_cont(share, 0.75)            AS p75_share,
    avg(CASE WHEN share = 0 THEN 1.0 ELSE 0.0 END) AS share_of_episodes_without
FROM shares
GROUP BY session_type
ORDER BY session_type
