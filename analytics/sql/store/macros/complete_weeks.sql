-- How many program weeks of an episode are complete: week k counts once its last
-- day, admit_date + 7k - 1, is on or before min(discharge_date, as_of) (the
-- complete-period rule, in program weeks). A discharge after as_of is already
-- NULL in selected_episodes(), so such an episode runs to as_of.
CREATE OR REPLACE MACRO main.complete_weeks(admit_date, discharge_date, as_of) AS
    greatest(0, (least(coalesce(discharge_date, as_of), as_of) - admit_date + 1) // 7)::INTEGER
