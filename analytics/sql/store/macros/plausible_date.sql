-- The date itself, or NULL for a year outside 1900-2099: that is a misread date (e.g.
-- '2/5/24' read with %Y is year 24), refused as a bad date by every import.
CREATE OR REPLACE MACRO main.plausible_date(d) AS
    CASE WHEN d BETWEEN DATE '1900-01-01' AND DATE '2099-12-31' THEN d END
