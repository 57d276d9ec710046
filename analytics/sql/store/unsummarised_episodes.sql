-- DuckLake: the episodes whose rows the session summaries do not hold yet. The summaries
-- hold the batches listed in summarised_batches (counted by `maintain`); any other logged
-- batch touched the episodes of the rows it wrote, and of the versions it replaced or
-- removed (their markers in superseded name it as replaced_by). Why: the reads count
-- these episodes from the sessions and the rest from the summaries, so a read stays
-- exact between an import and the next `maintain` (analytics/store/summaries.py).
-- The store.* tables are read raw (every version), at the read's snapshot.
WITH fresh AS (
    SELECT batch_id FROM main.import_log
    EXCEPT
    SELECT batch_id FROM store.main.summarised_batches
),
written AS (
    SELECT episode_id FROM store.main.sessions WHERE batch_id IN (SELECT batch_id FROM fresh)
    UNION ALL
    SELECT episode_id FROM store.main.enrollments WHERE batch_id IN (SELECT batch_id FROM fresh)
),
replaced AS (
    SELECT t.episode_id
    FROM store.main.superseded AS x
    JOIN store.main.sessions AS t ON t.batch_id = x.batch_id AND t.source_line = x.source_line
    WHERE x.kind = 'sessions' AND x.replaced_by IN (SELECT batch_id FROM fresh)
    UNION ALL
    SELECT t.episode_id
    FROM store.main.superseded AS x
    JOIN store.main.enrollments AS t ON t.batch_id = x.batch_id AND t.source_line = x.source_line
    WHERE x.kind = 'enrollments' AND x.replaced_by IN (SELECT batch_id FROM fresh)
)
SELECT DISTINCT episode_id FROM (SELECT * FROM written UNION ALL SELECT * FROM replaced)
