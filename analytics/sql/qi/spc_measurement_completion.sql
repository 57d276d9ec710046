-- Measurement completion of one instrument ($instruments) by the month each
-- measurement window starts in (admission + k x every_days), for a p-chart:
-- windows completed (a score dated inside) of the windows due, over the selected
-- episodes of the programs that use the instrument. A window still open at as_of
-- (neither ended nor cut short by a discharge) is left out: it may yet be completed,
-- and counting it would pull the latest months down. Only complete months.
WITH instruments AS (
    SELECT * FROM main.measure_instruments($instruments)
),
episodes AS (
    SELECT
        e.episode_id, e.patient_id, e.admit_date, e.discharge_date, e.as_of, i.every_days,
        last_window_due(e.admit_date, measured_until(e.discharge_date, e.as_of), i.every_days) AS last_k
    FROM main.selected_episodes() AS e
    JOIN instruments AS i ON uses_instrument(i.programs, e.program)
),
windows AS (
    SELECT episode_id, patient_id, k, admit_date + CAST(k * every_days AS INTEGER) AS starts,
        discharge_date IS NOT NULL OR admit_date + CAST((k + 1) * every_days - 1 AS INTEGER) <= as_of AS closed
    FROM (SELECT *, unnest(range(0, last_k + 1)) AS k FROM episodes WHERE last_k IS NOT NULL)
),
scored AS (
    -- the windows with at least one score
    SELECT DISTINCT s.episode_id, measurement_window(s.assessment_date, s.admit_date, i.every_days) AS k
    FROM main.selected_scores() AS s
    JOIN instruments AS i USING (instrument)
)
SELECT
    CAST(date_trunc('month', w.starts) AS DATE)     AS period,
    count(s.k)                                       AS completed,
    count(*)                                         AS due,
    count(DISTINCT w.patient_id)                     AS patients
FROM windows AS w
LEFT JOIN scored AS s ON s.episode_id = w.episode_id AND s.k = w.k
WHERE w.closed
GROUP BY period
HAVING last_day(period) <= getvariable('as_of')
ORDER BY period
