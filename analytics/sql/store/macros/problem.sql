-- One problem of a row, as every import's rejects hold it ({column, raw_value, reason}),
-- or NULL where its check passed: the problem lists are list_filter()ed of the NULLs.
CREATE OR REPLACE MACRO main.problem(failed, column_name, raw_value, reason) AS
    CASE WHEN failed THEN {'column': column_name, 'raw_value': raw_value, 'reason': reason} END
