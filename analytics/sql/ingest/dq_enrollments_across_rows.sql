-- Problems of enrollment rows that only show across rows besides a repeated episode id
-- (dq_duplicate_problems.sql): none, as enrollments are the episodes the other kinds
-- are checked against. One row per problem, as for every kind.
CREATE OR REPLACE TEMP TABLE ingest_kind_problems AS
SELECT idx, problem FROM ingest_duplicate_problems
WHERE false
