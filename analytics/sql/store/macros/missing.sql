-- The problem of a required column left empty, in one wording for every import. The
-- raw value is always NULL (VARCHAR, so a problem list's first entry fixes its type).
CREATE OR REPLACE MACRO main.missing(value, column_name) AS
    main.problem(value IS NULL, column_name, NULL::VARCHAR, 'missing; ' || column_name || ' is required')
