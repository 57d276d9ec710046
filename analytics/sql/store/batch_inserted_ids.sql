-- The ids one batch inserted (no earlier version that it replaced) and that are still
-- current: what undoing it removes. Reads history_versions (analytics/store/history.py).
SELECT DISTINCT w.record_id
FROM history_versions AS w
ANTI JOIN (SELECT record_id FROM history_versions WHERE replaced_by = $batch) AS r
    ON r.record_id = w.record_id
WHERE w.batch_id = $batch AND w.replaced_by IS NULL
