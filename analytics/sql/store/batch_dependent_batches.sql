-- The batches whose current rows name an id that $batch inserted (a session, an assessment
-- or a referral of an episode the batch added): undoing the insert would leave them
-- pointing at nothing, so the undo names them and stops.
-- Reads history_versions and history_references ((record_id named, batch_id of the row
-- naming it) over every kind that refers to this one; analytics/store/history.py).
WITH written AS (
    SELECT DISTINCT record_id FROM history_versions WHERE batch_id = $batch
),
inserted AS (
    -- written, with no earlier version that the batch replaced
    SELECT w.record_id FROM written AS w
    ANTI JOIN (SELECT record_id FROM history_versions WHERE replaced_by = $batch) AS r
        ON r.record_id = w.record_id
)
SELECT DISTINCT r.batch_id
FROM history_references AS r SEMI JOIN inserted AS i ON i.record_id = r.record_id
WHERE r.batch_id IS DISTINCT FROM $batch
ORDER BY 1
