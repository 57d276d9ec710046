-- A date as an export writes it: ISO when the profile says its dates are ISO (the
-- fast path), else the profile's formats in turn; for a spreadsheet, also an Excel
-- serial day number. NULL when nothing reads it. Every import's pass 1 reads its
-- dates with it, so a profile's date settings mean the same for every kind.
CREATE OR REPLACE MACRO main.export_date(value, iso_dates, date_formats, excel_dates) AS coalesce(
    CASE WHEN iso_dates THEN try_cast(value AS DATE) ELSE try_strptime(value, date_formats)::DATE END,
    CASE WHEN excel_dates THEN DATE '1899-12-30' + floor(try_cast(value AS DOUBLE))::INTEGER END
)
