-- The import log, newest batch first: one row per file an import applied or refused.
-- Holds file names, hashes and counts only (no patient data).
SELECT batch_id, file, kind, status, message, rows, inserted, updated, unchanged, rejected,
       started_at, finished_at, actor, profile, sha256
FROM main.import_log
ORDER BY batch_id DESC
LIMIT $limit
