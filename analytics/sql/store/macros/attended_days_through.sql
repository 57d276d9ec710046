-- What the summary table episode_attended_days holds: per episode, the days with an
-- attended session on or before `through` as 64-day words of bits, with the first such
-- day of each word: the bits of attended_day_rows_through OR-ed. The access figures
-- (continuation, initiation and engagement) count days in windows from these words
-- (window_days).
CREATE OR REPLACE MACRO main.attended_days_through(through) AS TABLE
SELECT episode_id, word, bit_or(days) AS days, min(first_day) AS first_day
FROM main.attended_day_rows_through(through, false)
GROUP BY episode_id, word
