-- Every problem of the file's rows that only shows across rows or against the store,
-- one row per record index: the repeated ids (dq_duplicate_problems.sql) and the
-- kind's own (dq_<kind>_across_rows.sql, into ingest_kind_problems), a row's problems
-- in the order of their columns.
CREATE OR REPLACE TEMP TABLE ingest_file_problems AS
SELECT idx, list(problem ORDER BY problem.column) AS problems
FROM (SELECT idx, problem FROM ingest_duplicate_problems
      UNION ALL
      SELECT idx, problem FROM ingest_kind_problems)
GROUP BY idx
