-- The problem of a valid date that does not fit its episode, the date shown as read, in
-- the profile's (first) date format.
CREATE OR REPLACE MACRO main.date_as_read(column_name, d, date_format, reason) AS
    {'column': column_name, 'raw_value': strftime(d, date_format), 'reason': reason}
