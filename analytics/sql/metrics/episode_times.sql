-- One row per selected episode: its time in program and how it ended, the
-- input to every survival estimate (other queries read it as the CTE
-- `episode_times`; analytics/retention.py prefixes it).
--
-- Why these rules (docs/metrics.md, "Retention and time in program"):
-- time = discharge_date - admit_date in days (a same-day discharge is 0); an
-- active episode is censored at as_of - admit_date. selected_episodes() has
-- already turned a discharge after as_of into "active". Dropped out and
-- terminated are unplanned (schema.UNPLANNED_REASONS); any other discharge,
-- including one with no reason recorded, is a competing "other" ending.
SELECT
    episode_id, patient_id, site, program, admit_date, extra, discharge_date, discharge_reason,
    coalesce(discharge_date, as_of) - admit_date AS time,
    CASE
        WHEN discharge_date IS NULL THEN 0                                  -- censored
        WHEN discharge_reason IN ('dropped_out', 'terminated') THEN 1       -- unplanned
        ELSE 2                                                              -- other discharge
    END AS event
FROM main.selected_episodes()
