-- The days with an attended session up to as_of, as 64-day words of bits to be OR-ed per
-- episode (see attended_days_through): from the summary table when it is exact for the
-- view, else one bit per attended session (see session_counts for why and when).
-- Not joined to the selection: the caller joins the episodes it needs.
CREATE OR REPLACE MACRO main.attended_days() AS TABLE
SELECT * FROM main.episode_attended_days
WHERE coalesce(getvariable('summarised'), false)
  AND NOT (coalesce(getvariable('summaries_partial'), false)
           AND episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
UNION ALL
SELECT * FROM main.attended_day_rows_through(getvariable('as_of'), false)
WHERE NOT coalesce(getvariable('summarised'), false)
UNION ALL
SELECT * FROM main.attended_day_rows_through(getvariable('as_of'), true)
WHERE coalesce(getvariable('summarised'), false) AND coalesce(getvariable('summaries_partial'), false)
