-- Pass 1 over a sessions export: every column arrives as trimmed text (NULL when empty)
-- under its canonical name from `ingest_source`, which ingest/staging.py replaces with the
-- file's reader. A pure projection, so the result keeps the file's order and its
-- rowid is the record's index; line numbers are derived from that.
-- Row checks only; checks across rows (duplicates, episodes) come in pass 2.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value
    SELECT
        src.*,
        main.export_date(src.session_date, $iso_dates, $date_formats, $excel_dates) AS session_date_p,
        try_cast(src.scheduled_minutes AS DECIMAL(18, 3)) AS scheduled_d,
        try_cast(src.attended_minutes AS DECIMAL(18, 3)) AS attended_d,
        -- labels: an exact match first, as exports mostly spell them like the profile;
        -- lower() copies every string and is only worth it for the rest
        coalesce(($status_values)[list_position($status_keys, src.status)],
                 ($status_values)[list_position($status_keys, lower(src.status))]) AS status_v,
        coalesce(($session_type_values)[list_position($session_type_keys, src.session_type)],
                 ($session_type_values)[list_position($session_type_keys, lower(src.session_type))],
                 src.session_type) AS session_type_v
    FROM ingest_source AS src
),
dated AS (
    -- a year outside 1900-2099 is a misread date (main.plausible_date)
    SELECT
        typed.*,
        main.plausible_date(session_date_p) AS session_date_v
    FROM typed
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows.
    -- A whole number is `x % 1 = 0`: comparing x with trunc(x) widens both to a
    -- 128-bit DECIMAL(21, 3) and is many times slower (benchmarks/README.md).
    SELECT
        dated.*,
        session_date IS NOT NULL AND session_date_v IS NULL AS bad_date,
        scheduled_minutes IS NOT NULL AND (scheduled_d IS NULL OR scheduled_d % 1 <> 0) AS bad_scheduled_number,
        scheduled_d IS NOT NULL AND scheduled_d % 1 = 0 AND scheduled_d <= 0 AS bad_scheduled_range,
        attended_minutes IS NOT NULL AND (attended_d IS NULL OR attended_d % 1 <> 0) AS bad_attended_number,
        attended_d IS NOT NULL AND attended_d % 1 = 0 AND attended_d < 0 AS bad_attended_range,
        status IS NOT NULL AND status_v IS NULL AS bad_status,
        attended_d > 0 AND status_v IS NOT NULL AND status_v <> 'attended' AS minutes_not_attended,
        attended_d > 0 AND scheduled_d > 0 AND attended_d > scheduled_d AS over_scheduled
    FROM dated
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
        CASE WHEN session_id IS NULL THEN {'column': 'session_id', 'raw_value': NULL::VARCHAR, 'reason': 'missing; session_id is required'} END,
        CASE WHEN episode_id IS NULL THEN {'column': 'episode_id', 'raw_value': NULL, 'reason': 'missing; episode_id is required'} END,
        CASE WHEN session_date IS NULL THEN {'column': 'session_date', 'raw_value': NULL, 'reason': 'missing; session_date is required'} END,
        CASE WHEN bad_date THEN {'column': 'session_date', 'raw_value': session_date, 'reason': 'bad date: not a date in the expected format ' || $date_formats_text} END,
        CASE WHEN session_type IS NULL THEN {'column': 'session_type', 'raw_value': NULL, 'reason': 'missing; session_type is required'} END,
        CASE WHEN scheduled_minutes IS NULL THEN {'column': 'scheduled_minutes', 'raw_value': NULL, 'reason': 'missing; scheduled_minutes is required'} END,
        CASE WHEN bad_scheduled_number THEN {'column': 'scheduled_minutes', 'raw_value': scheduled_minutes, 'reason': 'not a whole number of minutes'} END,
        CASE WHEN bad_scheduled_range THEN {'column': 'scheduled_minutes', 'raw_value': scheduled_minutes, 'reason': 'scheduled minutes must be more than 0'} END,
        CASE WHEN attended_minutes IS NULL THEN {'column': 'attended_minutes', 'raw_value': NULL, 'reason': 'missing; attended_minutes is required (0 when not attended)'} END,
        CASE WHEN bad_attended_number THEN {'column': 'attended_minutes', 'raw_value': attended_minutes, 'reason': 'not a whole number of minutes'} END,
        CASE WHEN bad_attended_range THEN {'column': 'attended_minutes', 'raw_value': attended_minutes, 'reason': 'negative minutes: attended minutes must be 0 or more'} END,
        CASE WHEN minutes_not_attended THEN {'column': 'attended_minutes', 'raw_value': attended_minutes, 'reason': 'attended minutes on a session with status ' || status_v || '; must be 0 unless the status is attended'} END,
        CASE WHEN over_scheduled THEN {'column': 'attended_minutes', 'raw_value': attended_minutes, 'reason': 'attended minutes are more than the scheduled minutes (' || scheduled_minutes || ')'} END,
        CASE WHEN status IS NULL THEN {'column': 'status', 'raw_value': NULL, 'reason': 'missing; status is required'} END,
        CASE WHEN bad_status THEN {'column': 'status', 'raw_value': status, 'reason': 'unknown status; expected attended, no_show, patient_cancelled or program_cancelled (or a label from the profile)'} END
    ], p -> p IS NOT NULL) END AS problems
FROM checked
