-- A date of an export as every import keeps it: read by main.export_date, NULL for a
-- year outside 1900-2099 (main.plausible_date), so both refusals read as a bad date.
CREATE OR REPLACE MACRO main.read_date(value, iso_dates, date_formats, excel_dates) AS
    main.plausible_date(main.export_date(value, iso_dates, date_formats, excel_dates))
