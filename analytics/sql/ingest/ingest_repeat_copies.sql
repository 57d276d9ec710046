-- Valid later copies of an id repeated with identical content: counted as unchanged.
SELECT count(*)
FROM ingest_rows AS r
JOIN ingest_dups AS d USING (record_id)
WHERE d.versions = 1
  AND r.idx <> d.first_idx
  AND r.problems IS NULL
  AND NOT EXISTS (SELECT 1 FROM ingest_file_problems AS f WHERE f.idx = r.idx)
