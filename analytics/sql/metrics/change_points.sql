-- The Jacobson-Truax plot of one instrument ($instruments holds its definition):
-- its pairs counted per (baseline, follow-up) score. Each row is a point of the
-- plot and may stand for one episode: patient-level, shown only to roles with
-- patient-level rights (change_grid.sql is the binned, suppressible form).
SELECT p.baseline, p.followup, count(*) AS episodes
FROM main.score_pairs() AS p
SEMI JOIN main.measure_instruments($instruments) AS i USING (instrument)
WHERE p.is_pair
GROUP BY ALL
ORDER BY ALL
