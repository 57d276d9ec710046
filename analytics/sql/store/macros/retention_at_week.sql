-- The selected episodes with week-N retention as a plain proportion, for the
-- control chart and the funnel plot of retention at week 4:
--   followed  admitted at least 7N days before as_of, so day 7N has been observed
--   retained  not ended by an unplanned discharge (a reason in `unplanned`,
--             schema.UNPLANNED_REASONS, bound by the caller) at time
--             discharge_date - admit_date <= 7N days
-- An episode still active, or ended by a planned discharge, is retained. Among
-- followed episodes nobody is censored before day 7N, so retained / followed
-- equals the Aalen-Johansen retention of docs/metrics.md, 1 - CIF_unplanned(7N).
CREATE OR REPLACE MACRO main.retention_at_week(week, unplanned) AS TABLE
SELECT
    e.*,
    e.admit_date <= e.as_of - 7 * week AS followed,
    NOT coalesce(list_contains(unplanned::VARCHAR[], e.discharge_reason)
                 AND e.discharge_date - e.admit_date <= 7 * week, false) AS retained
FROM main.selected_episodes() AS e
