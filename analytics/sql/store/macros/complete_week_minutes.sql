-- Attended minutes of every complete episode-week that had an attended session:
-- episode_id, week_number (program_week()), minutes. A complete week without
-- attended sessions has no row here and reads 0.
-- Why main.sessions joined to the selected episodes (instead of
-- selected_sessions()): the join needs complete_weeks at hand, and the one rule
-- selected_sessions() adds, session_date <= as_of, holds in every complete week.
-- At 10 M sessions this is most of the dose queries' work: one GROUP BY over the
-- attended sessions, forming only the weeks that had any.
CREATE OR REPLACE MACRO main.complete_week_minutes() AS TABLE
WITH episodes AS (
    SELECT episode_id, admit_date, complete_weeks(admit_date, discharge_date, as_of) AS complete_weeks
    FROM main.selected_episodes()
)
SELECT
    e.episode_id,
    program_week(s.session_date, e.admit_date) AS week_number,
    sum(s.attended_minutes) AS minutes
FROM main.sessions AS s
JOIN episodes AS e ON e.episode_id = s.episode_id
WHERE s.status = 'attended'
  AND s.session_date >= e.admit_date
  AND s.session_date < e.admit_date + 7 * e.complete_weeks
GROUP BY e.episode_id, week_number
