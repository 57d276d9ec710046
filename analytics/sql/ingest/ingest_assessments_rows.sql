-- Pass 1 over an assessments export: every column arrives as trimmed text (NULL when empty)
-- under its canonical name from `ingest_source`, which ingest/staging.py replaces with the
-- file's reader. A pure projection, so the result keeps the file's order and its rowid is
-- the record's index. Row checks only; duplicates and episodes come in pass 2.
-- The instruments in force (config/instruments.toml and a site's file, as the import
-- writes them into the store) arrive as parallel lists: $instrument_names with
-- $instrument_min and $instrument_max; the profile's [labels.instrument] and the names
-- themselves (in lower case) as $instrument_keys -> $instrument_values.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value
    SELECT
        src.*,
        main.export_date(src.assessment_date, $iso_dates, $date_formats, $excel_dates) AS assessment_date_p,
        -- an exact match first; lower() copies every string (see ingest_sessions_rows.sql)
        coalesce(($instrument_values)[list_position($instrument_keys, src.instrument)],
                 ($instrument_values)[list_position($instrument_keys, lower(src.instrument))]) AS instrument_v,
        -- DOUBLE, not DECIMAL(18, 3) as for minutes: a score of 7.0004 must not round to a whole 7
        try_cast(src.score AS DOUBLE) AS score_d
    FROM ingest_source AS src
),
ranged AS (
    -- a year outside 1900-2099 is a misread date (e.g. '2/5/24' read with %Y is year 24);
    -- the instrument's own range for the score
    SELECT
        typed.*,
        main.plausible_date(assessment_date_p) AS assessment_date_v,
        ($instrument_min)[list_position($instrument_names, instrument_v)] AS score_min,
        ($instrument_max)[list_position($instrument_names, instrument_v)] AS score_max
    FROM typed
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows
    SELECT
        ranged.*,
        assessment_date IS NOT NULL AND assessment_date_v IS NULL AS bad_date,
        instrument IS NOT NULL AND score_min IS NULL AS bad_instrument,
        score IS NOT NULL AND NOT coalesce(main.whole_score(score_d), false) AS bad_score_number,
        main.whole_score(score_d) AND main.score_outside(score_d, score_min, score_max) AS bad_score_range
    FROM ranged
),
checked AS (
    SELECT
        flags.*,
        coalesce(assessment_id IS NULL OR episode_id IS NULL OR assessment_date IS NULL OR instrument IS NULL
            OR score IS NULL OR bad_date OR bad_instrument OR bad_score_number OR bad_score_range, false) AS failed
    FROM flags
)
SELECT
    assessment_id,
    episode_id,
    assessment_date_v AS assessment_date,
    instrument_v AS instrument,
    CASE WHEN NOT failed THEN score_d::INTEGER END AS score,
    CASE WHEN failed THEN list_filter([
        CASE WHEN assessment_id IS NULL THEN {'column': 'assessment_id', 'raw_value': NULL::VARCHAR, 'reason': 'missing; assessment_id is required'} END,
        CASE WHEN episode_id IS NULL THEN {'column': 'episode_id', 'raw_value': NULL, 'reason': 'missing; episode_id is required'} END,
        CASE WHEN assessment_date IS NULL THEN {'column': 'assessment_date', 'raw_value': NULL, 'reason': 'missing; assessment_date is required'} END,
        CASE WHEN bad_date THEN {'column': 'assessment_date', 'raw_value': assessment_date, 'reason': 'bad date: not a date in the expected format ' || $date_formats_text} END,
        CASE WHEN instrument IS NULL THEN {'column': 'instrument', 'raw_value': NULL, 'reason': 'missing; instrument is required'} END,
        CASE WHEN bad_instrument THEN {'column': 'instrument', 'raw_value': instrument, 'reason': 'unknown instrument; expected ' || $instrument_list || ' (or a label from the profile)'} END,
        CASE WHEN score IS NULL THEN {'column': 'score', 'raw_value': NULL, 'reason': 'missing; score is required'} END,
        CASE WHEN bad_score_number THEN {'column': 'score', 'raw_value': score, 'reason': 'not a whole number'} END,
        CASE WHEN bad_score_range THEN {'column': 'score', 'raw_value': score, 'reason': 'score outside the range of ' || instrument_v || ' (' || score_min || ' to ' || score_max || ')'} END
    ], p -> p IS NOT NULL) END AS problems
FROM checked
