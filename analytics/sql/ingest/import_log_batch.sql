-- One batch's import log row, with the undo batch that reversed it (if one did).
-- Unqualified import_log: inside a write that just migrated the store, a TEMP view of
-- that name shows its new columns. No patient data: file names, kinds and counts.
SELECT l.batch_id, l.file, l.kind, l.status, l.undoes,
       (SELECT min(u.batch_id) FROM import_log AS u WHERE u.undoes = l.batch_id) AS undone_by
FROM import_log AS l
WHERE l.batch_id = $batch
ORDER BY l.finished_at
LIMIT 1
