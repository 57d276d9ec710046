-- Component reach: of the selected episodes that attended at least one session,
-- the share that attended each of the five IOP components at least once.
-- Episodes that never attended are left out of the denominator: they received
-- no treatment at all, which the attendance and retention figures report.
WITH attended AS (
    SELECT DISTINCT episode_id, patient_id, session_type
    FROM main.session_counts($completion_share)
    WHERE status = 'attended'
),
denominator AS (
    SELECT count(DISTINCT episode_id) AS episodes, count(DISTINCT patient_id) AS patients
    FROM attended
),
components AS (
    SELECT unnest($components::VARCHAR[]) AS session_type
),
reached AS (
    SELECT session_type, count(DISTINCT episode_id) AS episodes, count(DISTINCT patient_id) AS patients
    FROM attended
    GROUP BY session_type
)
SELECT
    c.session_type,
    coalesce(r.episodes, 0)               AS episodes_reached,
    d.episodes                            AS episodes_attending,
    coalesce(r.patients, 0)               AS patients_reached,
    d.patients                            AS patients_attending,
    coalesce(r.episodes, 0) / d.episodes  AS reach
FROM components AS c
CROSS JOIN denominator AS d
LEFT JOIN reached AS r USING (session_type)
WHERE d.episodes > 0
ORDER BY list_position($components::VARCHAR[], c.session_type)
