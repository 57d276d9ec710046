-- Each visible site's first and last session date and how far the last one lies
-- before as_of. Why: a site whose export stops early shows its recent weeks as
-- missed sessions and falling retention; the lag makes that visible.
-- Sites with episodes but no session at all are kept (last_session NULL).
WITH sites AS (
    SELECT site, max(admit_date) AS last_admission, count(*) AS episodes
    FROM main.selected_episodes()
    GROUP BY site
),
sessions AS (
    SELECT site, min(first_date) AS first_session, max(last_date) AS last_session, sum(sessions) AS sessions
    FROM main.session_counts($completion_share)
    GROUP BY site
)
SELECT
    s.site, s.episodes, coalesce(x.sessions, 0) AS sessions, x.first_session, x.last_session,
    s.last_admission,
    getvariable('as_of') AS as_of,
    getvariable('as_of') - x.last_session AS lag_days
FROM sites AS s
LEFT JOIN sessions AS x USING (site)
ORDER BY s.site
