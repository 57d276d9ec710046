-- Pass 1 over a referrals export (one row per request for service, admitted or not):
-- every column arrives as trimmed text (NULL when empty) under its canonical name from
-- `ingest_source`, which ingest/staging.py replaces with the file's reader (extra
-- columns, such as referral_source, already gathered into the `extra` MAP). A pure
-- projection, so the result keeps the file's order and its rowid is the record's index.
-- Row checks only; duplicates and the admitted referral's episode come in pass 2.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value (a date: main.read_date)
    SELECT
        src.*,
        main.read_date(src.first_contact_date, $iso_dates, $date_formats, $excel_dates) AS first_contact_date_v,
        main.read_date(src.intake_assessment_date, $iso_dates, $date_formats, $excel_dates) AS intake_assessment_date_v,
        main.profile_label(src.outcome, $outcome_keys, $outcome_values) AS outcome_v
    FROM ingest_source AS src
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows
    SELECT
        typed.*,
        main.unread(first_contact_date, first_contact_date_v) AS bad_first_contact,
        main.unread(intake_assessment_date, intake_assessment_date_v) AS bad_intake,
        intake_assessment_date_v < first_contact_date_v AS intake_before_contact,
        main.unread(outcome, outcome_v) AS bad_outcome,
        -- an admitted referral names the episode it became; any other names none, so a
        -- referral is never counted as an admission it did not lead to
        outcome_v = 'admitted' AND episode_id IS NULL AS admitted_without_episode,
        outcome_v <> 'admitted' AND episode_id IS NOT NULL AS episode_not_admitted
    FROM typed
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
        main.missing(referral_id, 'referral_id'),
        -- patient ids are never echoed back: the raw value is masked
        main.missing(patient_id, 'patient_id'),
        main.missing(site, 'site'),
        main.missing(program, 'program'),
        main.missing(first_contact_date, 'first_contact_date'),
        main.bad_date(bad_first_contact, 'first_contact_date', first_contact_date, $date_formats_text),
        main.bad_date(bad_intake, 'intake_assessment_date', intake_assessment_date, $date_formats_text),
        main.problem(intake_before_contact, 'intake_assessment_date', intake_assessment_date, 'intake assessment before the first contact (first_contact_date ' || strftime(first_contact_date_v, '%Y-%m-%d') || ')'),
        main.missing(outcome, 'outcome'),
        main.problem(bad_outcome, 'outcome', outcome, 'unknown outcome; expected admitted, declined, not_eligible, no_show, referred_elsewhere or pending (or a label from the profile)'),
        main.problem(admitted_without_episode, 'episode_id', NULL, 'missing; episode_id is required when the outcome is admitted'),
        main.problem(episode_not_admitted, 'episode_id', episode_id, 'an episode on a referral whose outcome is ' || outcome_v || '; only an admitted referral names its episode')
    ], p -> p IS NOT NULL) END AS problems
FROM checked
