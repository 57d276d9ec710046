-- The program week of a score: program_week(), except that a score dated before
-- admission (intake screening) is in week 1.
CREATE OR REPLACE MACRO main.score_week(on_date, admit_date) AS program_week(greatest(on_date, admit_date), admit_date)
