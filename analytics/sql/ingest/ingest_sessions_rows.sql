-- Pass 1 over a sessions export: every column arrives as trimmed text (NULL when empty)
-- under its canonical name from `ingest_source`, which ingest/staging.py replaces with the
-- file's reader. A pure projection, so the result keeps the file's order and its
-- rowid is the record's index; line numbers are derived from that.
-- Row checks only; checks across rows (duplicates, episodes) come in pass 2.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value (a date: main.read_date)
    SELECT
        src.*,
        main.read_date(src.session_date, $iso_dates, $date_formats, $excel_dates) AS session_date_v,
        try_cast(src.scheduled_minutes AS DECIMAL(18, 3)) AS scheduled_d,
        try_cast(src.attended_minutes AS DECIMAL(18, 3)) AS attended_d,
        main.profile_label(src.status, $status_keys, $status_values) AS status_v,
        coalesce(main.profile_label(src.session_type, $session_type_keys, $session_type_values),
                 src.session_type) AS session_type_v
    FROM ingest_source AS src
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows
    -- (whole numbers: main.whole_number)
    SELECT
        typed.*,
        main.unread(session_date, session_date_v) AS bad_date,
        main.not_whole_number(scheduled_minutes, scheduled_d) AS bad_scheduled_number,
        main.whole_number(scheduled_d) AND scheduled_d <= 0 AS bad_scheduled_range,
        main.not_whole_number(attended_minutes, attended_d) AS bad_attended_number,
        main.whole_number(attended_d) AND attended_d < 0 AS bad_attended_range,
        main.unread(status, status_v) AS bad_status,
        attended_d > 0 AND status_v IS NOT NULL AND status_v <> 'attended' AS minutes_not_attended,
        attended_d > 0 AND scheduled_d > 0 AND attended_d > scheduled_d AS over_scheduled
    FROM typed
),
checked AS (
    SELECT
        flags.*,
        coalesce(session_id IS NULL OR episode_id IS NULL OR session_date IS NULL OR session_type IS NULL
            OR scheduled_minutes IS NULL OR attended_minutes IS NULL OR status IS NULL
            OR bad_date OR bad_scheduled_number OR bad_scheduled_range OR bad_attended_number
            OR bad_attended_range OR bad_status OR minutes_not_attended OR over_scheduled, false) AS failed
    FROM flags
)
SELECT
    session_id,
    episode_id,
    session_date_v AS session_date,
    session_type_v AS session_type,
    clinician,
    CASE WHEN NOT failed THEN scheduled_d::INTEGER END AS scheduled_minutes,
    CASE WHEN NOT failed THEN attended_d::INTEGER END AS attended_minutes,
    status_v AS status,
    CASE WHEN failed THEN list_filter([
        main.missing(session_id, 'session_id'),
        main.missing(episode_id, 'episode_id'),
        main.missing(session_date, 'session_date'),
        main.bad_date(bad_date, 'session_date', session_date, $date_formats_text),
        main.missing(session_type, 'session_type'),
        main.missing(scheduled_minutes, 'scheduled_minutes'),
        main.problem(bad_scheduled_number, 'scheduled_minutes', scheduled_minutes, 'not a whole number of minutes'),
        main.problem(bad_scheduled_range, 'scheduled_minutes', scheduled_minutes, 'scheduled minutes must be more than 0'),
        main.problem(attended_minutes IS NULL, 'attended_minutes', NULL, 'missing; attended_minutes is required (0 when not attended)'),
        main.problem(bad_attended_number, 'attended_minutes', attended_minutes, 'not a whole number of minutes'),
        main.problem(bad_attended_range, 'attended_minutes', attended_minutes, 'negative minutes: attended minutes must be 0 or more'),
        main.problem(minutes_not_attended, 'attended_minutes', attended_minutes, 'attended minutes on a session with status ' || status_v || '; must be 0 unless the status is attended'),
        main.problem(over_scheduled, 'attended_minutes', attended_minutes, 'attended minutes are more than the scheduled minutes (' || scheduled_minutes || ')'),
        main.missing(status, 'status'),
        main.problem(bad_status, 'status', status, 'unknown status; expected attended, no_show, patient_cancelled or program_cancelled (or a label from the profile)')
    ], p -> p IS NOT NULL) END AS problems
FROM checked
