-- The selected episodes' session counts per type and status up to as_of, with the
-- episode's columns: read from the summary table when it holds exactly that (the
-- cursor's variable `summarised`, set by queries.bind_filters: an embedded store whose
-- summaries are current, an as-of date on or after its last session, and the
-- completion share they were counted at), else counted from the sessions.
-- Why: the summary holds a few rows per episode instead of one per session, and the
-- variable is folded while planning, so only one branch is ever read.
CREATE OR REPLACE MACRO main.session_counts(completion_share) AS TABLE
SELECT
    c.*,
    e.patient_id, e.site, e.program, e.admit_date, e.discharge_date, e.discharge_reason, e.extra
FROM (
    SELECT * FROM main.episode_session_counts
    WHERE coalesce(getvariable('summarised'), false)
    UNION ALL
    SELECT * FROM main.session_counts_through(getvariable('as_of'), completion_share, true)
    WHERE NOT coalesce(getvariable('summarised'), false)
) AS c
JOIN main.selected_episodes() AS e USING (episode_id)
