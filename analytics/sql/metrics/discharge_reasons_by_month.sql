-- Discharges per calendar month of discharge and reason, with each reason's
-- share of that month's discharges (for a stacked chart of outcomes over time).
-- Only discharges on or before as_of exist in selected_episodes().
WITH counts AS (
    SELECT
        strftime(discharge_date, '%Y-%m') AS month,
        coalesce(discharge_reason, 'other') AS discharge_reason,
        count(*) AS discharges
    FROM main.selected_episodes()
    WHERE discharge_date IS NOT NULL
    GROUP BY ALL
)
SELECT
    month, discharge_reason, discharges,
    discharges / sum(discharges) OVER (PARTITION BY month) AS share
FROM counts
ORDER BY month, discharge_reason
