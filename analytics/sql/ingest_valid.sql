-- The records to apply: no problem of their own or across rows, and for an id
-- repeated with identical content only its first copy (the others count as unchanged).
CREATE OR REPLACE TEMP VIEW ingest_valid AS
SELECT r.*
FROM ingest_rows AS r
WHERE r.problems IS NULL
  AND NOT EXISTS (SELECT 1 FROM ingest_file_problems AS f WHERE f.idx = r.idx)
  AND NOT EXISTS (SELECT 1 FROM ingest_dups AS d WHERE d.record_id = r.record_id AND d.first_idx <> r.idx)
