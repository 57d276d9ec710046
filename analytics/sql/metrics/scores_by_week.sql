-- One instrument's scores ($instruments holds its definition) per program week 1
-- to 12, as by_week in the measures counts them (every score, several on one day
-- included; a score before admission in week 1): how many, their sum and sample
-- standard deviation (for the mean's interval), and the distinct patients behind
-- them (for small-cell suppression).
SELECT
    score_week(s.assessment_date, s.admit_date)   AS week,
    count(*)                                         AS n,
    sum(s.score)                                     AS total,
    stddev_samp(s.score)                             AS sd,
    count(DISTINCT s.patient_id)                     AS patients
FROM main.selected_scores() AS s
SEMI JOIN main.measure_instruments($instruments) AS i USING (instrument)
WHERE score_week(s.assessment_date, s.admit_date) <= 12
GROUP BY week
ORDER BY week
