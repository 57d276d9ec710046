-- The versions one batch replaced or removed, as rows to write again (undoing it): each
-- id's version before the batch (the latest, should a race have left two), its stored
-- columns, and idx / line numbering the rows within the undo.
-- Reads history_versions (analytics/store/history.py).
WITH replaced AS (
    SELECT record_id, content FROM history_versions WHERE replaced_by = $batch
    QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY batch_id DESC, source_line DESC) = 1
),
numbered AS (
    SELECT content, row_number() OVER (ORDER BY record_id) AS idx FROM replaced
)
SELECT unnest(content), idx, idx AS line FROM numbered
