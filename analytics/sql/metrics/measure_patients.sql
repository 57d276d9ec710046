-- The distinct patients behind each instrument's figures ($instruments), for
-- small-cell suppression: among the pairs (change figures) and among the episodes
-- with windows due (measurement completion). Kept apart from measures.sql: the
-- summary never suppresses, and distinct counts cost more than the figures.
WITH instruments AS (
    SELECT * FROM main.measure_instruments($instruments)
),
pair_patients AS (
    SELECT p.instrument, count(DISTINCT p.patient_id) AS pair_patients
    FROM main.score_pairs() AS p
    JOIN instruments AS i USING (instrument)
    WHERE p.is_pair
    GROUP BY p.instrument
),
due_patients AS (
    SELECT i.instrument, count(DISTINCT e.patient_id) AS due_patients
    FROM main.selected_episodes() AS e
    JOIN instruments AS i ON uses_instrument(i.programs, e.program)
    GROUP BY i.instrument
)
SELECT
    i.instrument,
    coalesce(p.pair_patients, 0) AS pair_patients,
    coalesce(d.due_patients, 0)  AS due_patients
FROM instruments AS i
LEFT JOIN pair_patients AS p USING (instrument)
LEFT JOIN due_patients AS d USING (instrument)
