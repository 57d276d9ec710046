-- Pass 1 over an enrollments export: every column arrives as trimmed text (NULL when empty)
-- under its canonical name from `ingest_source`, which ingest/staging.py replaces with the
-- file's reader (extra columns already gathered into the `extra` MAP). A pure
-- projection, so the result keeps the file's order and its rowid is the record's index.
-- Row checks only; duplicates come in pass 2.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value (a date: main.read_date)
    SELECT
        src.*,
        main.read_date(src.admit_date, $iso_dates, $date_formats, $excel_dates) AS admit_date_v,
        main.read_date(src.discharge_date, $iso_dates, $date_formats, $excel_dates) AS discharge_date_v,
        main.read_date(src.first_contact_date, $iso_dates, $date_formats, $excel_dates) AS first_contact_date_v,
        main.profile_label(src.discharge_reason, $discharge_reason_keys, $discharge_reason_values) AS discharge_reason_v,
        try_cast(src.planned_weeks AS DECIMAL(18, 3)) AS planned_weeks_d
    FROM ingest_source AS src
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows
    -- (whole numbers: main.whole_number)
    SELECT
        typed.*,
        main.unread(admit_date, admit_date_v) AS bad_admit,
        main.unread(discharge_date, discharge_date_v) AS bad_discharge,
        discharge_date_v < admit_date_v AS discharge_before_admit,
        main.unread(first_contact_date, first_contact_date_v) AS bad_first_contact,
        first_contact_date_v > admit_date_v AS first_contact_after_admit,
        main.unread(discharge_reason, discharge_reason_v) AS bad_reason,
        discharge_reason IS NOT NULL AND discharge_date IS NULL AS reason_without_date,
        discharge_date IS NOT NULL AND discharge_reason IS NULL AS date_without_reason,
        main.not_whole_number(planned_weeks, planned_weeks_d) AS bad_weeks_number,
        main.whole_number(planned_weeks_d) AND planned_weeks_d <= 0 AS bad_weeks_range
    FROM typed
),
checked AS (
    SELECT
        flags.*,
        coalesce(episode_id IS NULL OR patient_id IS NULL OR site IS NULL OR program IS NULL OR admit_date IS NULL
            OR bad_admit OR bad_discharge OR discharge_before_admit OR bad_first_contact OR first_contact_after_admit
            OR bad_reason OR reason_without_date
            OR date_without_reason OR bad_weeks_number OR bad_weeks_range, false) AS failed
    FROM flags
)
SELECT
    episode_id,
    patient_id,
    site,
    program,
    admit_date_v AS admit_date,
    discharge_date_v AS discharge_date,
    discharge_reason_v AS discharge_reason,
    CASE WHEN NOT failed THEN planned_weeks_d::INTEGER END AS planned_weeks,
    first_contact_date_v AS first_contact_date,
    extra,
    CASE WHEN failed THEN list_filter([
        main.missing(episode_id, 'episode_id'),
        -- patient ids are never echoed back: the raw value is masked
        main.missing(patient_id, 'patient_id'),
        main.missing(site, 'site'),
        main.missing(program, 'program'),
        main.missing(admit_date, 'admit_date'),
        main.bad_date(bad_admit, 'admit_date', admit_date, $date_formats_text),
        main.bad_date(bad_discharge, 'discharge_date', discharge_date, $date_formats_text),
        main.problem(discharge_before_admit, 'discharge_date', discharge_date, 'discharge before admission (admit_date ' || strftime(admit_date_v, '%Y-%m-%d') || ')'),
        main.bad_date(bad_first_contact, 'first_contact_date', first_contact_date, $date_formats_text),
        main.problem(first_contact_after_admit, 'first_contact_date', first_contact_date, 'first contact after admission (admit_date ' || strftime(admit_date_v, '%Y-%m-%d') || ')'),
        main.problem(date_without_reason, 'discharge_reason', NULL, 'discharge date without a discharge reason; both or neither must be given'),
        main.problem(reason_without_date, 'discharge_reason', discharge_reason, 'discharge reason without a discharge date; both or neither must be given'),
        main.problem(bad_reason, 'discharge_reason', discharge_reason, 'unknown discharge reason; expected completed, dropped_out, terminated, transferred, incarcerated, death or other (or a label from the profile)'),
        main.problem(bad_weeks_number, 'planned_weeks', planned_weeks, 'not a whole number of weeks'),
        main.problem(bad_weeks_range, 'planned_weeks', planned_weeks, 'planned weeks must be more than 0')
    ], p -> p IS NOT NULL) END AS problems
FROM checked
