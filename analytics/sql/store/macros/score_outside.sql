-- A score outside its instrument's range (both ends allowed), for the CSV and the
-- FHIR import alike.
CREATE OR REPLACE MACRO main.score_outside(score, score_min, score_max) AS score < score_min OR score > score_max
