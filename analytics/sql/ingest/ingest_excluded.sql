-- Rows that pass their own checks but are not applied: those with a problem found
-- across rows or against the store (rejected), and the later copies of an id that
-- repeats with identical content (counted as unchanged). Small in a normal export,
-- so the valid rows are found by an anti-join on a short list.
CREATE OR REPLACE TEMP TABLE ingest_excluded AS
SELECT idx
FROM ingest_file_problems
UNION
SELECT r.idx
FROM ingest_rows AS r
JOIN ingest_dups AS d USING (record_id)
WHERE r.idx <> d.first_idx
