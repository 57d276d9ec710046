-- Every rejected record of the file, once, with all of its problems: those found
-- on the row itself (pass 1) and those found across rows or against the store.
INSERT INTO store.rejects (batch_id, file, kind, line, record_id, problems)
SELECT
    $batch_id,
    $file,
    $kind,
    r.line,
    r.record_id,
    list_concat(r.problems, f.problems)
FROM ingest_rows AS r
LEFT JOIN ingest_file_problems AS f USING (idx)
WHERE r.problems IS NOT NULL OR f.idx IS NOT NULL
