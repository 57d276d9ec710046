-- The program week a date falls in: week k of an episode covers
-- admit_date + 7(k-1) .. admit_date + 7k - 1, so the admission day is in week 1.
-- Dose and the mix by program week count weeks the same way through it.
CREATE OR REPLACE MACRO main.program_week(on_date, admit_date) AS (on_date - admit_date) // 7 + 1
