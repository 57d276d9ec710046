-- An episode's baseline score (aggregate): its earliest score; on a tie of dates, the
-- lowest assessment_id. (date, id) compares the date first, then the id as text (byte order).
CREATE OR REPLACE MACRO main.baseline_score(score, on_date, id) AS arg_min(score, (on_date, id))
