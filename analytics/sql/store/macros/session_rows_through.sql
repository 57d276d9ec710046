-- Every session dated on or before `through` as a cell of the session counts (see
-- session_counts_through): one session, completed or not at the completion share, its
-- scheduled and attended minutes, its date as first and last date. With
-- unsummarised_only, only the sessions of the episodes the summaries do not hold yet
-- (DuckLake between an import and `maintain`).
-- Why a macro: the summary is these cells summed per episode, type and status, and the
-- reads fall back to the cells themselves (every reader sums them, or counts distinct
-- ids), so both paths count with one definition; unsummed, the fallback is a plain scan
-- that the join to the selected episodes prunes, as cheap as before the summaries.
CREATE OR REPLACE MACRO main.session_rows_through(through, completion_share, unsummarised_only) AS TABLE
SELECT
    s.episode_id, s.session_type, s.status,
    1::BIGINT AS sessions,
    coalesce(completed_session(s.status, s.attended_minutes, s.scheduled_minutes, completion_share),
             false)::BIGINT AS completed,
    s.scheduled_minutes::BIGINT AS scheduled_minutes,
    s.attended_minutes::BIGINT AS attended_minutes,
    s.session_date AS first_date,
    s.session_date AS last_date
FROM main.sessions AS s
WHERE s.session_date <= through
  AND (NOT unsummarised_only OR s.episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
