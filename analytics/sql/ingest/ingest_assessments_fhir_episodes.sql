-- The episode of each Observation of a FHIR file: the episode of its patient whose window
-- holds its date, the window running from 30 days before admission (intake screening) to
-- discharge, or open while the episode is active. The patient is the enrollments'
-- patient_id: the Patient id of subject.reference by default, or, when the profile names
-- an identifier system ($by_identifier), the value of that identifier on the command's
-- Patient resource (ingest_fhir_patients); either is pseudonymised already when the import
-- is. Exactly one episode gives episode_id; otherwise `problem` says why not (one row per
-- Observation with a patient reference and a date).
CREATE OR REPLACE TEMP TABLE ingest_fhir_episodes AS
WITH patients AS (
    -- per Patient id: how many values of the system it has, and the value
    SELECT patient_ref, count(DISTINCT patient_id) AS n_ids, min(patient_id) AS patient_id
    FROM ingest_fhir_patients
    GROUP BY patient_ref
),
observations AS (
    SELECT
        r.idx,
        r.assessment_date,
        r.date_column,
        r.date_text,
        CASE WHEN $by_identifier THEN p.patient_id ELSE r.patient_id END AS patient_id,
        p.patient_ref IS NOT NULL AS has_patient_resource,
        coalesce(p.n_ids, 0) AS n_ids
    FROM ingest_rows AS r
    LEFT JOIN patients AS p ON $by_identifier AND p.patient_ref = r.patient_ref
    -- a retraction needs no episode
    WHERE NOT r.skipped AND NOT r.retracted AND r.patient_ref IS NOT NULL AND r.assessment_date IS NOT NULL
),
candidates AS (
    -- enrollments: the current version of each episode (latest wins on DuckLake), named
    -- unqualified so that, right after a migration, the writer's TEMP view is the one read
    SELECT o.idx, e.episode_id, e.admit_date
    FROM observations AS o
    JOIN enrollments AS e
      ON e.patient_id = o.patient_id
     AND o.assessment_date >= main.assessment_window_start(e.admit_date)
     AND (e.discharge_date IS NULL OR o.assessment_date <= e.discharge_date)
),
matched AS (
    SELECT idx, count(*) AS n, min(episode_id) AS episode_id
    FROM candidates
    GROUP BY idx
),
listed AS (
    -- the episodes a reject names: only where more than one holds the date
    SELECT c.idx, string_agg(c.episode_id, ', ' ORDER BY c.admit_date, c.episode_id) AS episodes
    FROM candidates AS c
    SEMI JOIN matched AS m ON m.idx = c.idx AND m.n > 1
    GROUP BY c.idx
),
enrolled AS (
    -- patients with an enrollment at all: an unknown patient is told from a date outside their episodes
    SELECT DISTINCT patient_id
    FROM enrollments
)
SELECT
    o.idx,
    CASE WHEN m.n = 1 THEN m.episode_id END AS episode_id,
    -- the patient is never echoed: raw values of the reference stay NULL
    CASE
        WHEN $by_identifier AND NOT o.has_patient_resource THEN
            {'column': 'subject.reference', 'raw_value': NULL::VARCHAR,
             'reason': 'no Patient resource with this id in the command (the profile matches patients by their identifier of system '
                       || $patient_system || ': import the Patient resources with the observations)'}
        WHEN $by_identifier AND o.n_ids = 0 THEN
            {'column': 'subject.reference', 'raw_value': NULL,
             'reason': 'the Patient resource has no identifier of system ' || $patient_system}
        WHEN $by_identifier AND o.n_ids > 1 THEN
            {'column': 'subject.reference', 'raw_value': NULL,
             'reason': 'the Patient resource has more than one identifier of system ' || $patient_system}
        WHEN k.patient_id IS NULL THEN
            {'column': 'subject.reference', 'raw_value': NULL,
             'reason': 'unknown patient: no enrollment of this patient in the store (import enrollments first)'}
        WHEN m.n IS NULL THEN
            {'column': o.date_column, 'raw_value': o.date_text,
             'reason': 'no episode of this patient holds this date (from 30 days before admission to discharge)'}
        WHEN m.n > 1 THEN
            {'column': o.date_column, 'raw_value': o.date_text,
             'reason': 'more than one episode of this patient holds this date (' || l.episodes || ')'}
    END AS problem
FROM observations AS o
LEFT JOIN matched AS m USING (idx)
LEFT JOIN listed AS l USING (idx)
LEFT JOIN enrolled AS k ON k.patient_id = o.patient_id
