-- The import log, newest batch first: one row per file an import applied, refused or
-- failed on, and per undo (undoes: the batch it reversed; undone_by: the undo that
-- reversed this one). Holds file names, hashes and counts only (no patient data).
SELECT l.batch_id, l.file, l.kind, l.status, l.message, l.rows, l.inserted, l.updated, l.unchanged, l.rejected,
       l.deleted, l.undoes, u.undone_by,
       l.started_at, l.finished_at, l.actor, l.profile, l.sha256
FROM main.import_log AS l
LEFT JOIN (SELECT undoes, min(batch_id) AS undone_by FROM main.import_log WHERE undoes IS NOT NULL GROUP BY undoes) AS u
    ON u.undoes = l.batch_id
ORDER BY l.batch_id DESC
LIMIT $limit
