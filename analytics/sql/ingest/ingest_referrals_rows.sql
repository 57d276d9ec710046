-- Pass 1 over a referrals export (one row per request for service, admitted or not):
-- every column arrives as trimmed text (NULL when empty) under its canonical name from
-- `ingest_source`, which ingest/staging.py replaces with the file's reader (extra
-- columns, such as referral_source, already gathered into the `extra` MAP). A pure
-- projection, so the result keeps the file's order and its rowid is the record's index.
-- Row checks only; duplicates and the admitted referral's episode come in pass 2.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value
    SELECT
        src.*,
        main.export_date(src.first_contact_date, $iso_dates, $date_formats, $excel_dates) AS first_contact_date_p,
        main.export_date(src.intake_assessment_date, $iso_dates, $date_formats, $excel_dates) AS intake_assessment_date_p,
        -- an exact match first; lower() copies every string (see ingest_sessions_rows.sql)
        coalesce(($outcome_values)[list_position($outcome_keys, src.outcome)],
                 ($outcome_values)[list_position($outcome_keys, lower(src.outcome))]) AS outcome_v
    FROM ingest_source AS src
),
dated AS (
    -- a year outside 1900-2099 is a misread date (main.plausible_date)
    SELECT
        typed.*,
        main.plausible_date(first_contact_date_p) AS first_contact_date_v,
        main.plausible_date(intake_assessment_date_p) AS intake_assessment_date_v
    FROM typed
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows
    SELECT
        dated.*,
        first_contact_date IS NOT NULL AND first_contact_date_v IS NULL AS bad_first_contact,
        intake_assessment_date IS NOT NULL AND intake_assessment_date_v IS NULL AS bad_intake,
        intake_assessment_date_v < first_contact_date_v AS intake_before_contact,
        outcome IS NOT NULL AND outcome_v IS NULL AS bad_outcome,
        -- an admitted referral names the episode it became; any other names none, so a
        -- referral is never counted as an admission it did not lead to
        outcome_v = 'admitted' AND episode_id IS NULL AS admitted_without_episode,
        outcome_v <> 'admitted' AND episode_id IS NOT NULL AS episode_not_admitted
    FROM dated
),
checked AS (
    SELECT
        flags.*,
        coalesce(referral_id IS NULL OR patient_id IS NULL OR site IS NULL OR program IS NULL
            OR first_contact_date IS NULL OR outcome IS NULL
            OR bad_first_contact OR bad_intake OR intake_before_contact OR bad_outcome
            OR admitted_without_episode OR episode_not_admitted, false) AS failed
    FROM flags
)
SELECT
    referral_id,
    patient_id,
    site,
    program,
    first_contact_date_v AS first_contact_date,
    intake_assessment_date_v AS intake_assessment_date,
    outcome_v AS outcome,
    episode_id,
    extra,
    CASE WHEN failed THEN list_filter([
        CASE WHEN referral_id IS NULL THEN {'column': 'referral_id', 'raw_value': NULL::VARCHAR, 'reason': 'missing; referral_id is required'} END,
        -- patient ids are never echoed back: the raw value is masked
        CASE WHEN patient_id IS NULL THEN {'column': 'patient_id', 'raw_value': NULL, 'reason': 'missing; patient_id is required'} END,
        CASE WHEN site IS NULL THEN {'column': 'site', 'raw_value': NULL, 'reason': 'missing; site is required'} END,
        CASE WHEN program IS NULL THEN {'column': 'program', 'raw_value': NULL, 'reason': 'missing; program is required'} END,
        CASE WHEN first_contact_date IS NULL THEN {'column': 'first_contact_date', 'raw_value': NULL, 'reason': 'missing; first_contact_date is required'} END,
        CASE WHEN bad_first_contact THEN {'column': 'first_contact_date', 'raw_value': first_contact_date, 'reason': 'bad date: not a date in the expected format ' || $date_formats_text} END,
        CASE WHEN bad_intake THEN {'column': 'intake_assessment_date', 'raw_value': intake_assessment_date, 'reason': 'bad date: not a date in the expected format ' || $date_formats_text} END,
        CASE WHEN intake_before_contact THEN {'column': 'intake_assessment_date', 'raw_value': intake_assessment_date, 'reason': 'intake assessment before the first contact (first_contact_date ' || strftime(first_contact_date_v, '%Y-%m-%d') || ')'} END,
        CASE WHEN outcome IS NULL THEN {'column': 'outcome', 'raw_value': NULL, 'reason': 'missing; outcome is required'} END,
        CASE WHEN bad_outcome THEN {'column': 'outcome', 'raw_value': outcome, 'reason': 'unknown outcome; expected admitted, declined, not_eligible, no_show, referred_elsewhere or pending (or a label from the profile)'} END,
        CASE WHEN admitted_without_episode THEN {'column': 'episode_id', 'raw_value': NULL, 'reason': 'missing; episode_id is required when the outcome is admitted'} END,
        CASE WHEN episode_not_admitted THEN {'column': 'episode_id', 'raw_value': episode_id, 'reason': 'an episode on a referral whose outcome is ' || outcome_v || '; only an admitted referral names its episode'} END
    ], p -> p IS NOT NULL) END AS problems
FROM checked
