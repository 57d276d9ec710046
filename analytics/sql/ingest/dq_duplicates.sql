-- Ids that repeat within one file. Identical repeats count as unchanged (only the
-- first copy is applied); repeats with different content are all rejected, since
-- nothing says which copy is right. Only repeated ids are hashed, so it stays small.
CREATE OR REPLACE TEMP TABLE ingest_dups AS
WITH repeated AS (
    -- the ids that occur more than once
    SELECT record_id
    FROM ingest_rows
    WHERE record_id IS NOT NULL
    GROUP BY record_id
    HAVING count(*) > 1
),
copies AS (
    -- a copy's content: every value after checks and casts (and its problems, if any)
    SELECT record_id, idx, hash(*COLUMNS(* EXCLUDE (idx, line, record_id))) AS content
    FROM ingest_rows
    SEMI JOIN repeated USING (record_id)
)
SELECT
    record_id,
    count(DISTINCT content) AS versions,
    min(idx) AS first_idx,
    count(*) AS copies
FROM copies
GROUP BY record_id
