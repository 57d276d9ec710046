-- What the summary table episode_session_counts holds: per episode, session type and
-- status, the sessions dated on or before `through`, how many were completed at the
-- completion share, their scheduled and attended minutes, and their first and last dates.
-- Why a macro: the importer builds the summary with it (through = the end of time) and
-- the reads fall back to it for an as-of date inside the data, so the two paths count
-- with one definition and cannot disagree. `episodes`: 'all' (the build), 'selected'
-- (the selected episodes, limited before it aggregates, so the fallback costs a
-- filtered scan of the sessions) or 'unsummarised' (the selected episodes the
-- summaries do not hold yet: DuckLake between an import and `maintain`).
CREATE OR REPLACE MACRO main.session_counts_through(through, completion_share, episodes) AS TABLE
SELECT
    s.episode_id, s.session_type, s.status,
    count(*)::BIGINT AS sessions,
    count(*) FILTER (WHERE completed_session(s.status, s.attended_minutes, s.scheduled_minutes,
                                             completion_share))::BIGINT AS completed,
    sum(s.scheduled_minutes)::BIGINT AS scheduled_minutes,
    sum(s.attended_minutes)::BIGINT AS attended_minutes,
    min(s.session_date) AS first_date,
    max(s.session_date) AS last_date
FROM main.sessions AS s
WHERE s.session_date <= through
  AND (episodes = 'all' OR s.episode_id IN (SELECT episode_id FROM main.selected_episodes()))
  AND (episodes <> 'unsummarised' OR s.episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
GROUP BY s.episode_id, s.session_type, s.status
