-- How many ids one batch inserted, updated and removed in one kind (no rows, for a quick
-- summary and for the undo's checks). Reads history_versions as batch_changes does.
WITH written AS (
    SELECT DISTINCT record_id FROM history_versions WHERE batch_id = $batch
),
replaced AS (
    SELECT DISTINCT record_id FROM history_versions WHERE replaced_by = $batch
)
SELECT count(*) FILTER (WHERE r.record_id IS NULL) AS inserted,
       count(*) FILTER (WHERE w.record_id IS NOT NULL AND r.record_id IS NOT NULL) AS updated,
       count(*) FILTER (WHERE w.record_id IS NULL) AS deleted
FROM written AS w FULL JOIN replaced AS r ON r.record_id = w.record_id
