-- Attended minutes of every complete episode-week that had an attended session:
-- episode_id, week_number (program_week()), minutes. A complete week without
-- attended sessions has no row here and reads 0.
-- Why attended_weeks(): its weeks are the program weeks from the admission, so
-- "week_number <= complete_weeks" is exactly "on or after the admission and before
-- admit + 7 x complete weeks"; every session in a complete week is dated on or before
-- as_of, and the summary holds a few rows per episode instead of one per session.
CREATE OR REPLACE MACRO main.complete_week_minutes() AS TABLE
SELECT
    w.episode_id,
    w.week_number,
    sum(w.attended_minutes) AS minutes
FROM main.attended_weeks() AS w
WHERE w.week_number <= complete_weeks(w.admit_date, w.discharge_date, w.as_of)
GROUP BY w.episode_id, w.week_number
