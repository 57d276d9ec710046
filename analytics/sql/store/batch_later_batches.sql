-- The batches after $batch that wrote, replaced or removed a version of an id $batch
-- touched: undoing $batch would overwrite their work, so the undo names them and stops.
-- Reads history_versions (analytics/store/history.py).
WITH touched AS (
    SELECT DISTINCT record_id FROM history_versions WHERE batch_id = $batch OR replaced_by = $batch
),
versions_of_touched AS (
    SELECT v.batch_id, v.replaced_by
    FROM history_versions AS v SEMI JOIN touched AS t ON t.record_id = v.record_id
)
SELECT DISTINCT later FROM (
    SELECT batch_id AS later FROM versions_of_touched
    UNION ALL
    SELECT replaced_by FROM versions_of_touched
) WHERE later > $batch
ORDER BY later
