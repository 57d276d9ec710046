-- Pass 1 over a FHIR R4 Bulk Data file (ndjson: one resource per line) for assessments.
-- `ingest_source` (replaced by ingest/fhir.py) is DuckDB's JSON reader over the file: each
-- line's elements used here, as text, in the file's order, blank lines skipped as by the
-- line numbering (ingest/lines.py); a line that is not valid JSON, or not an object, comes
-- back in its place with every element NULL, so nothing aborts the import. `json_type`
-- says what such a line is (NULL: not valid JSON) and `n` its place among the lines read,
-- where the reader used knows them.
-- Observations become assessment rows; other resource types are skipped (counted, not
-- rejected); a Patient keeps its identifiers of the profile's system ($patient_system)
-- for ingest_fhir_patients.sql. The patient and episode are found in pass 2.
-- Codings map to instruments through $code_keys -> $code_instruments (the instruments'
-- `codes` and the profile's [[fhir.codes]]; a key is system || chr(31) || code).
WITH typed AS (
    SELECT
        n,
        json_type,
        resourceType AS resource_type,
        id AS resource_id,
        resourceType = $resource AS observation,
        status,
        code.coding AS coding,
        list_distinct(list_filter(
            list_transform(code.coding, c -> ($code_instruments::VARCHAR[])[list_position($code_keys::VARCHAR[], c.system || chr(31) || c.code)]),
            i -> i IS NOT NULL)) AS coded,
        -- the score as written: valueQuantity.value, else valueInteger
        CASE WHEN valueQuantity.value IS NOT NULL THEN 'valueQuantity.value' ELSE 'valueInteger' END AS score_column,
        coalesce(valueQuantity.value, valueInteger) AS score_text,
        try_cast(coalesce(valueQuantity.value, valueInteger) AS DOUBLE) AS score_d,
        -- the date as written in the timestamp (its first ten characters), never moved to another zone
        CASE WHEN effectiveDateTime IS NOT NULL OR effectivePeriod."start" IS NULL THEN 'effectiveDateTime'
             ELSE 'effectivePeriod.start' END AS date_column,
        coalesce(effectiveDateTime, effectivePeriod."start") AS date_text,
        subject.reference AS reference,
        -- Patient/ID, also as an absolute or versioned reference (.../Patient/ID/_history/2);
        -- the plain form needs no regular expression
        CASE WHEN starts_with(subject.reference, 'Patient/') AND strpos(subject.reference[9:], '/') = 0
             THEN nullif(subject.reference[9:], '')
             ELSE nullif(regexp_extract(subject.reference, '(?:^|/)Patient/([^/]+)(?:/_history/[^/]+)?$', 1), '')
        END AS patient_ref,
        CASE WHEN resourceType = 'Patient' AND $patient_system IS NOT NULL THEN
            list_distinct(list_transform(list_filter(identifier, i -> i.system = $patient_system AND i.value IS NOT NULL),
                                         i -> i.value))
        END AS patient_identifiers
    FROM ingest_source
),
dated AS (
    SELECT
        typed.*,
        CASE WHEN len(coded) = 1 THEN coded[1] END AS instrument_v,
        CASE WHEN regexp_full_match(date_text, '[0-9]{4}-[0-9]{2}-[0-9]{2}(T.*)?')
             THEN try_cast(left(date_text, 10) AS DATE) END AS date_p
    FROM typed
),
ranged AS (
    -- a year outside 1900-2099 is a misread date, as in the CSV; YYYY and YYYY-MM are
    -- valid FHIR dates but name no day (looked for only where no full date was found)
    SELECT
        dated.*,
        CASE WHEN date_p IS NULL THEN regexp_full_match(date_text, '[0-9]{4}(-[0-9]{2})?') ELSE false END AS partial_date,
        main.plausible_date(date_p) AS date_v,
        ($instrument_min)[list_position($instrument_names, instrument_v)] AS score_min,
        ($instrument_max)[list_position($instrument_names, instrument_v)] AS score_max
    FROM dated
),
flags AS (
    -- one flag per check, for Observations only; the list below is built only for failing rows
    SELECT
        ranged.*,
        observation AND resource_id IS NULL AS no_id,
        observation AND status IS NULL AS no_status,
        observation AND status = 'entered-in-error' AS retracted_status,
        observation AND status NOT IN ('final', 'amended', 'corrected', 'entered-in-error') AS not_final,
        observation AND coalesce(len(coding), 0) = 0 AS no_code,
        observation AND len(coding) > 0 AND len(coded) = 0 AS unmapped_code,
        observation AND len(coded) > 1 AS several_instruments,
        observation AND score_text IS NULL AS no_score,
        observation AND score_text IS NOT NULL AND NOT coalesce(main.whole_score(score_d), false) AS bad_score_number,
        observation AND main.whole_score(score_d) AND main.score_outside(score_d, score_min, score_max) AS bad_score_range,
        observation AND date_text IS NULL AS no_date,
        observation AND partial_date AS partial,
        observation AND date_text IS NOT NULL AND NOT partial_date AND date_v IS NULL AS bad_date,
        observation AND reference IS NULL AS no_subject,
        observation AND reference IS NOT NULL AND patient_ref IS NULL AS not_patient
    FROM ranged
),
checked AS (
    SELECT
        flags.*,
        -- a line the reader could not take as a resource
        resource_type IS NULL AS unreadable,
        -- the codings as a reject shows them (codes are not patient data); only where one is rejected
        CASE WHEN unmapped_code OR several_instruments THEN
            array_to_string(list_transform(coding, c -> coalesce(c.system, '(no system)') || '|' || coalesce(c.code, '')), ', ')
        END AS codings,
        coalesce(no_id OR no_status OR retracted_status OR not_final OR no_code OR unmapped_code
            OR several_instruments OR no_score OR bad_score_number OR bad_score_range OR no_date OR partial
            OR bad_date OR no_subject OR not_patient, false) AS failed
    FROM flags
)
SELECT
    CASE WHEN observation THEN resource_id END AS assessment_id,
    NULL::VARCHAR AS episode_id,  -- the episode whose window holds the date: pass 2
    CASE WHEN observation THEN date_v END AS assessment_date,
    CASE WHEN observation THEN instrument_v END AS instrument,
    CASE WHEN observation AND NOT failed THEN score_d::INTEGER END AS score,
    resource_type,
    resource_id,
    status,
    NOT coalesce(observation, true) AS skipped,
    coalesce(retracted_status AND resource_id IS NOT NULL, false) AS retracted,
    CASE WHEN observation THEN patient_ref END AS patient_ref,
    -- the enrollments' patient_id by default; through a Patient's identifier when the profile names a system
    CASE WHEN observation AND $patient_system IS NULL THEN patient_ref END AS patient_id,
    date_column,
    date_text,
    patient_identifiers,
    CASE WHEN unreadable THEN
        [{'column': '(whole line)', 'raw_value': NULL::VARCHAR, 'reason': CASE
            WHEN json_type IS NULL AND n = 1 AND $bom THEN 'not valid JSON: the file starts with a byte-order mark, which JSON does not allow'
            WHEN json_type IS NULL THEN 'not valid JSON'
            WHEN json_type <> 'OBJECT' THEN 'not a FHIR resource: JSON ' || CASE json_type
                WHEN 'ARRAY' THEN 'array' WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'true or false'
                WHEN 'NULL' THEN 'null' ELSE 'number' END || ', not an object'
            ELSE 'not a FHIR resource: no resourceType'
        END}]
    WHEN retracted_status THEN list_filter([
        -- a retraction: what else it lacks does not matter
        CASE WHEN no_id THEN {'column': 'id', 'raw_value': NULL::VARCHAR, 'reason': 'missing; id is required'} END,
        {'column': 'status', 'raw_value': status, 'reason': 'entered in error: the observation was retracted (an earlier import of it is removed)'}
    ], p -> p IS NOT NULL)
    WHEN failed THEN list_filter([
        CASE WHEN no_id THEN {'column': 'id', 'raw_value': NULL::VARCHAR, 'reason': 'missing; id is required'} END,
        CASE WHEN no_status THEN {'column': 'status', 'raw_value': NULL, 'reason': 'missing; status is required'} END,
        CASE WHEN not_final THEN {'column': 'status', 'raw_value': status, 'reason': 'not final: only final, amended or corrected observations are loaded'} END,
        CASE WHEN no_code THEN {'column': 'code.coding', 'raw_value': NULL, 'reason': 'missing; code.coding is required'} END,
        CASE WHEN unmapped_code THEN {'column': 'code.coding', 'raw_value': codings, 'reason': 'unmapped code: no configured instrument has this coding (see the instrument''s codes, or the profile''s [[fhir.codes]])'} END,
        CASE WHEN several_instruments THEN {'column': 'code.coding', 'raw_value': codings, 'reason': 'codings of more than one instrument (' || array_to_string(list_sort(coded), ', ') || ')'} END,
        CASE WHEN no_score THEN {'column': 'valueQuantity.value', 'raw_value': NULL, 'reason': 'missing; valueQuantity.value or valueInteger is required'} END,
        CASE WHEN bad_score_number THEN {'column': score_column, 'raw_value': score_text, 'reason': 'not a whole number'} END,
        CASE WHEN bad_score_range THEN {'column': score_column, 'raw_value': score_text, 'reason': 'score outside the range of ' || instrument_v || ' (' || score_min || ' to ' || score_max || ')'} END,
        CASE WHEN no_date THEN {'column': 'effectiveDateTime', 'raw_value': NULL, 'reason': 'missing; effectiveDateTime or effectivePeriod.start is required'} END,
        CASE WHEN partial THEN {'column': date_column, 'raw_value': date_text, 'reason': 'partial date: a full date (YYYY-MM-DD) is needed'} END,
        CASE WHEN bad_date THEN {'column': date_column, 'raw_value': date_text, 'reason': 'bad date: not a FHIR date or dateTime (YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with its time zone)'} END,
        -- the reference names a patient: never echoed
        CASE WHEN no_subject THEN {'column': 'subject.reference', 'raw_value': NULL, 'reason': 'missing; subject.reference is required'} END,
        CASE WHEN not_patient THEN {'column': 'subject.reference', 'raw_value': NULL, 'reason': 'not a Patient reference (expected Patient/<id>)'} END
    ], p -> p IS NOT NULL) END AS problems
FROM checked
