-- The Jacobson-Truax plot of one instrument, binned: its pairs counted per cell of
-- $width x $width score points (cells start at the instrument's $min_score), so a
-- small count can be hidden without hiding the picture. Only cells with pairs are
-- returned; change.py adds the empty ones as 0.
SELECT
    $min_score + (p.baseline - $min_score) // $width * $width  AS baseline_from,
    $min_score + (p.followup - $min_score) // $width * $width  AS followup_from,
    count(*)                                                    AS episodes,
    count(DISTINCT p.patient_id)                                AS patients
FROM main.score_pairs() AS p
SEMI JOIN main.measure_instruments($instruments) AS i USING (instrument)
WHERE p.is_pair
GROUP BY ALL
ORDER BY ALL
