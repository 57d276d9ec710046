-- The latest batch that finished before $cutoff (no row when none did): pruning the
-- history forgets what it and every earlier batch replaced. No patient data.
SELECT batch_id FROM import_log
WHERE finished_at < $cutoff
ORDER BY batch_id DESC
LIMIT 1
