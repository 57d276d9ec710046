-- The problem of each copy of an id that repeats in one file with different content
-- (ingest_dups, dq_duplicates.sql): every copy is rejected, since nothing says which is
-- right. One wording for every kind; $id_column is the kind's id column and $id_label
-- how the message names it.
CREATE OR REPLACE TEMP TABLE ingest_duplicate_problems AS
SELECT
    r.idx,
    {'column': $id_column, 'raw_value': r.record_id,
     'reason': 'duplicate id with different content: this ' || $id_label || ' appears ' || d.copies || ' times in the file'} AS problem
FROM ingest_rows AS r
JOIN ingest_dups AS d USING (record_id)
WHERE d.versions > 1
