-- A value given but not read: a date not in the profile's formats (or implausible), a
-- label the profile does not know. raw is the text as read, value what it was read as.
CREATE OR REPLACE MACRO main.unread(raw, value) AS raw IS NOT NULL AND value IS NULL
