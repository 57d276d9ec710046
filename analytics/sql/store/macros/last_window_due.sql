-- Windows 0 .. this one are due (an episode admitted on its end day has window 0 due).
CREATE OR REPLACE MACRO main.last_window_due(admit_date, end_date, every_days) AS
    CASE WHEN end_date >= admit_date THEN (end_date - admit_date) // every_days END
