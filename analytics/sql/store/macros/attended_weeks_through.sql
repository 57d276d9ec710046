-- What the summary table episode_attended_weeks holds: per episode, program week (from
-- the admission, weeks 1 and up) and session type, the attended sessions dated on or
-- before `through` and their attended minutes. Sessions before the admission have no
-- program week and are not counted here.
-- Why a macro: one definition for the importer's build and the reads' fallback
-- (see session_counts_through); the week depends on the admission date, so the
-- importer rebuilds an episode's weeks when its enrollment changes too.
CREATE OR REPLACE MACRO main.attended_weeks_through(through, episodes) AS TABLE
SELECT
    s.episode_id,
    program_week(s.session_date, e.admit_date)::INTEGER AS week_number,
    s.session_type,
    count(*)::BIGINT AS sessions,
    sum(s.attended_minutes)::BIGINT AS attended_minutes
FROM main.sessions AS s
JOIN main.enrollments AS e ON e.episode_id = s.episode_id
WHERE s.status = 'attended'
  AND s.session_date >= e.admit_date
  AND s.session_date <= through
  AND (episodes = 'all' OR s.episode_id IN (SELECT episode_id FROM main.selected_episodes()))
  AND (episodes <> 'unsummarised' OR s.episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
GROUP BY s.episode_id, week_number, s.session_type
