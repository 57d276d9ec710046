-- The Patient resources of one FHIR file, added to the command's list: each Patient id
-- with its identifier values of the profile's system (one row each; NULL when it has
-- none). Used in pass 2 when the profile says that identifier is the enrollments'
-- patient_id; the values are pseudonymised before any matching when the import is.
INSERT INTO ingest_fhir_patients (patient_ref, patient_id)
SELECT resource_id, unnest(CASE WHEN len(patient_identifiers) = 0 THEN [NULL::VARCHAR] ELSE patient_identifiers END)
FROM ingest_checked
WHERE resource_type = 'Patient' AND resource_id IS NOT NULL
