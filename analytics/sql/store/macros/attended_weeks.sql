-- The selected episodes' attended sessions and minutes per program week and type up to
-- as_of, as cells to be summed, with the episode's columns: from the summary table when
-- it is exact for the view, else one cell per session (see session_counts).
CREATE OR REPLACE MACRO main.attended_weeks() AS TABLE
SELECT
    w.*,
    e.patient_id, e.site, e.program, e.admit_date, e.discharge_date, e.discharge_reason, e.extra, e.as_of
FROM (
    SELECT * FROM main.episode_attended_weeks
    WHERE coalesce(getvariable('summarised'), false)
      AND NOT (coalesce(getvariable('summaries_partial'), false)
               AND episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
    UNION ALL
    SELECT * FROM main.attended_week_rows_through(getvariable('as_of'), false)
    WHERE NOT coalesce(getvariable('summarised'), false)
    UNION ALL
    SELECT * FROM main.attended_week_rows_through(getvariable('as_of'), true)
    WHERE coalesce(getvariable('summarised'), false) AND coalesce(getvariable('summaries_partial'), false)
) AS w
JOIN main.selected_episodes() AS e USING (episode_id)
