-- Pass 1 over an assessments export: every column arrives as trimmed text (NULL when empty)
-- under its canonical name from `ingest_source`, which ingest/staging.py replaces with the
-- file's reader. A pure projection, so the result keeps the file's order and its rowid is
-- the record's index. Row checks only; duplicates and episodes come in pass 2.
-- The instruments in force (config/instruments.toml and a site's file, as the import
-- writes them into the store) arrive as parallel lists: $instrument_names with
-- $instrument_min and $instrument_max; the profile's [labels.instrument] and the names
-- themselves (in lower case) as $instrument_keys -> $instrument_values.
WITH typed AS (
    -- each value cast once; NULL where the text is not a valid value (a date: main.read_date)
    SELECT
        src.*,
        main.read_date(src.assessment_date, $iso_dates, $date_formats, $excel_dates) AS assessment_date_v,
        main.profile_label(src.instrument, $instrument_keys, $instrument_values) AS instrument_v,
        -- DOUBLE, not DECIMAL(18, 3) as for minutes: a score of 7.0004 must not round to a whole 7
        try_cast(src.score AS DOUBLE) AS score_d
    FROM ingest_source AS src
),
ranged AS (
    -- the instrument's own range for the score
    SELECT
        typed.*,
        ($instrument_min)[list_position($instrument_names, instrument_v)] AS score_min,
        ($instrument_max)[list_position($instrument_names, instrument_v)] AS score_max
    FROM typed
),
flags AS (
    -- one flag per check, so the problem list below is built only for failing rows
    SELECT
        ranged.*,
        main.unread(assessment_date, assessment_date_v) AS bad_date,
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
        main.missing(assessment_id, 'assessment_id'),
        main.missing(episode_id, 'episode_id'),
        main.missing(assessment_date, 'assessment_date'),
        main.bad_date(bad_date, 'assessment_date', assessment_date, $date_formats_text),
        main.missing(instrument, 'instrument'),
        main.problem(bad_instrument, 'instrument', instrument, 'unknown instrument; expected ' || $instrument_list || ' (or a label from the profile)'),
        main.missing(score, 'score'),
        main.problem(bad_score_number, 'score', score, 'not a whole number'),
        main.problem(bad_score_range, 'score', score, 'score outside the range of ' || instrument_v || ' (' || score_min || ' to ' || score_max || ')')
    ], p -> p IS NOT NULL) END AS problems
FROM checked
