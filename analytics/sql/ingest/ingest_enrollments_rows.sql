-- Pass 1 over an enrollments export: every column arrives as trimmed text (NULL when empty)
-- under its canonical name from `ingest_source`, which ingest/staging.py replaces with the
-- file's reader (extra columns already gathered into the `extra` MAP). A pure
-- projection, so the result keeps the file's order and its rowid is the record's index.
-- Row checks only; duplicates come in pass 2.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value
    SELECT
        src.*,
        main.export_date(src.admit_date, $iso_dates, $date_formats, $excel_dates) AS admit_date_p,
        main.export_date(src.discharge_date, $iso_dates, $date_formats, $excel_dates) AS discharge_date_p,
        main.export_date(src.first_contact_date, $iso_dates, $date_formats, $excel_dates) AS first_contact_date_p,
        -- an exact match first; lower() copies every string (see ingest_sessions_rows.sql)
        coalesce(($discharge_reason_values)[list_position($discharge_reason_keys, src.discharge_reason)],
                 ($discharge_reason_values)[list_position($discharge_reason_keys, lower(src.discharge_reason))]) AS discharge_reason_v,
        try_cast(src.planned_weeks AS DECIMAL(18, 3)) AS planned_weeks_d
    FROM ingest_source AS src
),
dated AS (
    -- a year outside 1900-2099 is a misread date (main.plausible_date)
    SELECT
        typed.*,
        main.plausible_date(admit_date_p) AS admit_date_v,
        main.plausible_date(discharge_date_p) AS discharge_date_v,
        main.plausible_date(first_contact_date_p) AS first_contact_date_v
    FROM typed
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows;
    -- whole numbers as `x % 1 = 0` (why: ingest_sessions_rows.sql)
    SELECT
        dated.*,
        admit_date IS NOT NULL AND admit_date_v IS NULL AS bad_admit,
        discharge_date IS NOT NULL AND discharge_date_v IS NULL AS bad_discharge,
        discharge_date_v < admit_date_v AS discharge_before_admit,
        first_contact_date IS NOT NULL AND first_contact_date_v IS NULL AS bad_first_contact,
        first_contact_date_v > admit_date_v AS first_contact_after_admit,
        discharge_reason IS NOT NULL AND discharge_reason_v IS NULL AS bad_reason,
        discharge_reason IS NOT NULL AND discharge_date IS NULL AS reason_without_date,
        discharge_date IS NOT NULL AND discharge_reason IS NULL AS date_without_reason,
        planned_weeks IS NOT NULL AND (planned_weeks_d IS NULL OR planned_weeks_d % 1 <> 0) AS bad_weeks_number,
        planned_weeks_d IS NOT NULL AND planned_weeks_d % 1 = 0 AND planned_weeks_d <= 0 AS bad_weeks_range
    FROM dated
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
        CASE WHEN episode_id IS NULL THEN {'column': 'episode_id', 'raw_value': NULL::VARCHAR, 'reason': 'missing; episode_id is required'} END,
        -- patient ids are never echoed back: the raw value is masked
        CASE WHEN patient_id IS NULL THEN {'column': 'patient_id', 'raw_value': NULL, 'reason': 'missing; patient_id is required'} END,
        CASE WHEN site IS NULL THEN {'column': 'site', 'raw_value': NULL, 'reason': 'missing; site is required'} END,
        CASE WHEN program IS NULL THEN {'column': 'program', 'raw_value': NULL, 'reason': 'missing; program is required'} END,
        CASE WHEN admit_date IS NULL THEN {'column': 'admit_date', 'raw_value': NULL, 'reason': 'missing; admit_date is required'} END,
        CASE WHEN bad_admit THEN {'column': 'admit_date', 'raw_value': admit_date, 'reason': 'bad date: not a date in the expected format ' || $date_formats_text} END,
        CASE WHEN bad_discharge THEN {'column': 'discharge_date', 'raw_value': discharge_date, 'reason': 'bad date: not a date in the expected format ' || $date_formats_text} END,
        CASE WHEN discharge_before_admit THEN {'column': 'discharge_date', 'raw_value': discharge_date, 'reason': 'discharge before admission (admit_date ' || strftime(admit_date_v, '%Y-%m-%d') || ')'} END,
        CASE WHEN bad_first_contact THEN {'column': 'first_contact_date', 'raw_value': first_contact_date, 'reason': 'bad date: not a date in the expected format ' || $date_formats_text} END,
        CASE WHEN first_contact_after_admit THEN {'column': 'first_contact_date', 'raw_value': first_contact_date, 'reason': 'first contact after admission (admit_date ' || strftime(admit_date_v, '%Y-%m-%d') || ')'} END,
        CASE WHEN date_without_reason THEN {'column': 'discharge_reason', 'raw_value': NULL, 'reason': 'discharge date without a discharge reason; both or neither must be given'} END,
        CASE WHEN reason_without_date THEN {'column': 'discharge_reason', 'raw_value': discharge_reason, 'reason': 'discharge reason without a discharge date; both or neither must be given'} END,
        CASE WHEN bad_reason THEN {'column': 'discharge_reason', 'raw_value': discharge_reason, 'reason': 'unknown discharge reason; expected completed, dropped_out, terminated, transferred, incarcerated, death or other (or a label from the profile)'} END,
        CASE WHEN bad_weeks_number THEN {'column': 'planned_weeks', 'raw_value': planned_weeks, 'reason': 'not a whole number of weeks'} END,
        CASE WHEN bad_weeks_range THEN {'column': 'planned_weeks', 'raw_value': planned_weeks, 'reason': 'planned weeks must be more than 0'} END
    ], p -> p IS NOT NULL) END AS problems
FROM checked
