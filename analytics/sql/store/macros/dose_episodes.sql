-- The selected episodes with what the weekly dose needs (docs/metrics.md, "Dose"):
-- complete_weeks (complete_weeks()) and target_minutes, the program's weekly
-- target. The targets come from config/iop.toml, bound by the caller as two
-- parallel lists (program names, weekly hours); a program without one gets NULL.
CREATE OR REPLACE MACRO main.dose_episodes(target_programs, target_hours) AS TABLE
WITH targets AS (
    SELECT
        unnest(target_programs::VARCHAR[]) AS target_program,
        unnest(target_hours::DOUBLE[]) * 60 AS target_minutes
)
SELECT
    e.*,
    t.target_minutes,
    complete_weeks(e.admit_date, e.discharge_date, e.as_of) AS complete_weeks
FROM main.selected_episodes() AS e
LEFT JOIN targets AS t ON t.target_program = e.program
