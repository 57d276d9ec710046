-- Time in program (days) of discharged episodes by discharge reason, as box-plot
-- statistics: quartiles and Tukey whiskers (the most extreme values within
-- 1.5 IQR of the box), so a box plot needs no per-episode rows.
-- quantile_cont interpolates, so the median of an even count is the mean of
-- the two middle values, as for median_los_days.
WITH los AS (
    SELECT coalesce(discharge_reason, 'other') AS discharge_reason,
           discharge_date - admit_date AS days
    FROM main.selected_episodes()
    WHERE discharge_date IS NOT NULL
),
stats AS (
    SELECT
        discharge_reason,
        count(*) AS n,
        avg(days) AS mean,
        min(days) AS min,
        quantile_cont(days, 0.25) AS q1,
        quantile_cont(days, 0.5) AS median,
        quantile_cont(days, 0.75) AS q3,
        max(days) AS max
    FROM los
    GROUP BY discharge_reason
)
SELECT
    s.discharge_reason, s.n, s.mean, s.min, s.q1, s.median, s.q3, s.max,
    min(l.days) FILTER (WHERE l.days >= s.q1 - 1.5 * (s.q3 - s.q1)) AS lower_whisker,
    max(l.days) FILTER (WHERE l.days <= s.q3 + 1.5 * (s.q3 - s.q1)) AS upper_whisker
FROM stats AS s
JOIN los AS l USING (discharge_reason)
GROUP BY ALL
ORDER BY s.discharge_reason
