-- An episode's follow-up score (aggregate): its latest score; on a tie of dates, the
-- highest assessment_id as text.
CREATE OR REPLACE MACRO main.followup_score(score, on_date, id) AS arg_max(score, (on_date, id))
