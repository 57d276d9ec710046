-- The values the sidebar filters offer: sites, programs, admission date range and
-- extra enrollment column values, over the episodes the user's SCOPE lets them see.
-- Why selected_episodes() with empty filters: the site scope is applied there, so a
-- site lead is never even offered another site's name.
WITH visible AS (
    SELECT site, program, admit_date, extra FROM main.selected_episodes()
),
extra_pairs AS (
    -- one row per (column, value) present in an extra MAP
    SELECT DISTINCT unnest(map_keys(extra)) AS col, unnest(map_values(extra)) AS val
    FROM visible
)
SELECT 'site' AS kind, NULL AS col, site AS val, NULL::DATE AS d FROM (SELECT DISTINCT site FROM visible)
UNION ALL
SELECT 'program', NULL, program, NULL FROM (SELECT DISTINCT program FROM visible)
UNION ALL
SELECT 'extra', col, val, NULL FROM extra_pairs WHERE col IS NOT NULL AND val IS NOT NULL
UNION ALL
SELECT 'admit_min', NULL, NULL, min(admit_date) FROM visible
UNION ALL
SELECT 'admit_max', NULL, NULL, max(admit_date) FROM visible
