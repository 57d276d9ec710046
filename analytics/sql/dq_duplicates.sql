-- Ids that repeat within one file. Identical repeats count as unchanged (only the
-- first copy is applied); repeats with different content are all rejected, since
-- nothing says which copy is right. Grouping only the repeated ids keeps it small.
CREATE OR REPLACE TEMP TABLE ingest_dups AS
WITH repeated AS (
    -- the ids that occur more than once
    SELECT record_id
    FROM ingest_rows
    WHERE record_id IS NOT NULL
    GROUP BY record_id
    HAVING count(*) > 1
)
SELECT
    r.record_id,
    count(DISTINCT r.content) AS versions,
    min(r.idx) AS first_idx,
    count(*) AS copies
FROM ingest_rows AS r
SEMI JOIN repeated USING (record_id)
GROUP BY r.record_id
