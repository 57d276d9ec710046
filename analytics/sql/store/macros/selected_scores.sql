-- Scores of selected episodes dated on or before as_of, carrying the episode's
-- attributes (discharge only when known by as_of), so outcome figures break down
-- by site, program or cohort without another join.
CREATE OR REPLACE MACRO main.selected_scores() AS TABLE
SELECT
    a.assessment_id, a.episode_id, a.assessment_date, a.instrument, a.score,
    e.patient_id, e.site, e.program, e.admit_date, e.discharge_date, e.extra, e.as_of
FROM main.assessments AS a
JOIN main.selected_episodes() AS e USING (episode_id)
WHERE a.assessment_date <= getvariable('as_of')
