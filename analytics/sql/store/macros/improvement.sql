-- Improvement is a decrease when a higher score is worse, an increase when it is better.
CREATE OR REPLACE MACRO main.improvement(baseline, followup, higher_is_better) AS
    CASE WHEN higher_is_better THEN followup - baseline ELSE baseline - followup END
