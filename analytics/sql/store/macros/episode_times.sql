-- One row per selected episode: its time in program and how it ended, the input
-- to every survival estimate (event_counts.sql).
--
-- Why these rules (docs/metrics.md, "Retention and time in program"):
-- time = discharge_date - admit_date in days (a same-day discharge is 0); an
-- active episode is censored at as_of - admit_date. selected_episodes() has
-- already turned a discharge after as_of into "active". A discharge whose reason
-- is in `unplanned` (schema.UNPLANNED_REASONS, bound by the caller) is unplanned;
-- any other, including one with no reason recorded, is a competing "other" ending.
CREATE OR REPLACE MACRO main.episode_times(unplanned) AS TABLE
SELECT
    episode_id, patient_id, site, program, admit_date, extra, discharge_date, discharge_reason,
    coalesce(discharge_date, as_of) - admit_date AS time,
    CASE
        WHEN discharge_date IS NULL THEN 0                                          -- censored
        WHEN list_contains(unplanned::VARCHAR[], discharge_reason) THEN 1           -- unplanned
        ELSE 2                                                                      -- other discharge
    END AS event
FROM main.selected_episodes()
