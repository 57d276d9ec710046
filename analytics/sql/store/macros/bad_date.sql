-- The problem of a date given but not read (main.unread), in one wording for every
-- import: formats_text lists the profile's date formats.
CREATE OR REPLACE MACRO main.bad_date(failed, column_name, raw_value, formats_text) AS
    main.problem(failed, column_name, raw_value, 'bad date: not a date in the expected format ' || formats_text)
