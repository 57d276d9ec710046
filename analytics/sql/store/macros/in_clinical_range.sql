-- A score in the clinical range: at or above caseness when a higher score is worse, at or
-- below it when better; NULL for an instrument without one.
CREATE OR REPLACE MACRO main.in_clinical_range(score, caseness, higher_is_better) AS
    CASE WHEN higher_is_better THEN score <= caseness ELSE score >= caseness END
