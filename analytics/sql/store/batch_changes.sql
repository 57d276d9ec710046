-- What one batch did to one kind's rows: each id it inserted, updated or removed, with the
-- version before it (old) and the version it wrote (new) as JSON objects.
-- Reads history_versions (analytics/store/history.py: every version of the kind, current
-- and replaced, with the batch that replaced it). At most $limit rows per change; each row
-- carries the full count of its change.
WITH written AS (
    -- the version the batch wrote of each id (current still, or replaced since)
    SELECT record_id, content FROM history_versions WHERE batch_id = $batch
),
replaced AS (
    -- the version the batch replaced or removed, one per id (the latest, should a race
    -- between two imports have left two visible)
    SELECT record_id, content FROM history_versions WHERE replaced_by = $batch
    QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY batch_id DESC, source_line DESC) = 1
),
changes AS (
    SELECT coalesce(w.record_id, r.record_id) AS record_id,
           CASE WHEN r.record_id IS NULL THEN 'inserted'
                WHEN w.record_id IS NULL THEN 'deleted'
                ELSE 'updated' END AS change,
           r.content AS old, w.content AS new
    FROM written AS w FULL JOIN replaced AS r ON r.record_id = w.record_id
),
listed AS (
    -- counted before the cut, so a long list still says how long it is
    SELECT *, count(*) OVER (PARTITION BY change) AS of_change FROM changes
    QUALIFY row_number() OVER (PARTITION BY change ORDER BY record_id) <= $limit
)
SELECT change, record_id, CAST(to_json(old) AS VARCHAR) AS old, CAST(to_json(new) AS VARCHAR) AS new, of_change
FROM listed
ORDER BY change, record_id
