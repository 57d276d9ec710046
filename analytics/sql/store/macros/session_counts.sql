-- The selected episodes' session counts up to as_of as cells to be summed (per episode,
-- type and status; or one per session), with the episode's columns. Every reader sums
-- them or counts distinct ids, so it does not matter which. Read from the summary table
-- when it holds exactly that (the
-- cursor's variable `summarised`, set by queries.bind_filters: an embedded store whose
-- summaries are current, an as-of date on or after its last session, and the
-- completion share they were counted at), else each session as a cell. On a
-- DuckLake imported into since `maintain` (variable `summaries_partial`), the episodes
-- the summaries do not hold yet (unsummarised_episodes) are counted from the sessions
-- and the others read from the summaries.
-- Why: the summary holds a few rows per episode instead of one per session, and the
-- variables are folded while planning, so only the branches in force are read.
CREATE OR REPLACE MACRO main.session_counts(completion_share) AS TABLE
SELECT
    c.*,
    e.patient_id, e.site, e.program, e.admit_date, e.discharge_date, e.discharge_reason, e.extra
FROM (
    SELECT * FROM main.episode_session_counts
    WHERE coalesce(getvariable('summarised'), false)
      AND NOT (coalesce(getvariable('summaries_partial'), false)
               AND episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
    UNION ALL
    SELECT * FROM main.session_rows_through(getvariable('as_of'), completion_share, false)
    WHERE NOT coalesce(getvariable('summarised'), false)
    UNION ALL
    SELECT * FROM main.session_rows_through(getvariable('as_of'), completion_share, true)
    WHERE coalesce(getvariable('summarised'), false) AND coalesce(getvariable('summaries_partial'), false)
) AS c
JOIN main.selected_episodes() AS e USING (episode_id)
