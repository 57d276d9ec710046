-- Problems of enrollment rows that only show across rows: an episode id repeated
-- with different content (dq_duplicate_problems.sql). One row per record index with
-- the list of its problems.
CREATE OR REPLACE TEMP TABLE ingest_file_problems AS
SELECT idx, list(problem) AS problems
FROM ingest_duplicate_problems
GROUP BY idx
