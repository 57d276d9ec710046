-- A score is a whole number, however an export writes it (12 and 12.0 are; 12.5 is
-- not, nor 12.0004, which is not rounded: the score arrives as DOUBLE, not as a
-- DECIMAL that would round it). Both assessment imports, CSV and FHIR, test it.
CREATE OR REPLACE MACRO main.whole_score(score) AS isfinite(score) AND score = trunc(score)
