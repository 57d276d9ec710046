-- Sessions of selected episodes up to as_of, carrying the episode's attributes
-- so session metrics break down by site, program or cohort without another join.
CREATE OR REPLACE MACRO main.selected_sessions() AS TABLE
SELECT
    s.session_id, s.episode_id, s.session_date, s.session_type, s.clinician,
    s.scheduled_minutes, s.attended_minutes, s.status,
    e.patient_id, e.site, e.program, e.admit_date, e.discharge_date, e.discharge_reason, e.extra
FROM main.sessions AS s
JOIN main.selected_episodes() AS e USING (episode_id)
WHERE s.session_date <= getvariable('as_of')
