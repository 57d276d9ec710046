-- Clinical outcome measures (docs/metrics.md, "Clinical outcomes"): one row per
-- instrument in force ($instruments, see measure_instruments()) with the counts and
-- sums every figure of the `measures` JSON is divided from; measures.py divides
-- them, so a zero denominator is None in one place. The rules (which scores count,
-- baseline and follow-up, windows, weeks, improvement, clinical range) are the
-- macros of analytics/sql/store/macros/, shared with the Outcomes page, the QI charts
-- and the at-risk list. The summary runs this on every call, so it is written for
-- speed: the scores are joined to the episodes once, grouped once per instrument
-- and episode, the thresholds are applied per distinct (baseline, follow-up), and
-- the windows due are counted per length of stay, not per episode.
WITH instruments AS (
    SELECT * FROM main.measure_instruments($instruments)
),
scores AS MATERIALIZED (
    -- the selected episodes' scores of the instruments in force, dated on or before
    -- as_of, each with the measurement window it completes: NULL when its program
    -- does not use the instrument, or when the window is not due (after discharge)
    SELECT
        s.instrument, s.episode_id, s.assessment_date, s.assessment_id, s.score,
        score_week(s.assessment_date, s.admit_date) AS week,
        CASE WHEN uses_instrument(i.programs, s.program)
              AND measurement_window(s.assessment_date, s.admit_date, i.every_days)
                  <= last_window_due(s.admit_date, measured_until(s.discharge_date, s.as_of), i.every_days)
             THEN measurement_window(s.assessment_date, s.admit_date, i.every_days) END AS k
    FROM main.selected_scores() AS s
    JOIN instruments AS i USING (instrument)
),
episode_scores AS (
    -- per instrument and episode: baseline and follow-up (the tie rules of
    -- score_pairs()), whether they make a pair, and the windows completed. Windows
    -- 0..63 are counted as the bits of one 64-bit mask (a distinct count per group
    -- costs several times more); later ones, rare, are counted exactly in `late_windows`.
    SELECT
        instrument, episode_id,
        baseline_score(score, assessment_date, assessment_id)              AS baseline,
        followup_score(score, assessment_date, assessment_id)              AS followup,
        makes_pair(assessment_date)                                        AS is_pair,
        coalesce(bit_count(bit_or(1::UBIGINT << k::UBIGINT) FILTER (WHERE k < 64)), 0) AS windows
    FROM scores
    GROUP BY instrument, episode_id
),
late_windows AS (
    SELECT instrument, count(*) AS windows
    FROM (SELECT DISTINCT instrument, episode_id, k FROM scores WHERE k >= 64)
    GROUP BY instrument
),
combos AS (
    -- episodes per (baseline, follow-up): a few thousand rows, so the thresholds below
    -- are applied to those, not to each of the ~1 M episode rows
    SELECT instrument, baseline, followup, is_pair, count(*) AS episodes, sum(windows) AS windows
    FROM episode_scores
    GROUP BY ALL
),
classified AS (
    -- each (baseline, follow-up) judged by its instrument's thresholds (NULL where it has none)
    SELECT
        e.instrument, e.is_pair, e.baseline, e.followup, e.windows, e.episodes,
        improvement(e.baseline, e.followup, i.higher_is_better) >= i.reliable_change   AS reliably_improved,
        -improvement(e.baseline, e.followup, i.higher_is_better) >= i.reliable_change  AS reliably_deteriorated,
        in_clinical_range(e.baseline, i.caseness, i.higher_is_better)                   AS at_caseness,
        NOT in_clinical_range(e.followup, i.caseness, i.higher_is_better)               AS out_of_range,
        -- remission is counted among baselines in the clinical range; for an
        -- instrument without one, among baselines at or above the remission threshold
        CASE WHEN i.caseness IS NULL THEN e.baseline >= i.remission_below
             ELSE in_clinical_range(e.baseline, i.caseness, i.higher_is_better) END    AS remission_eligible,
        e.followup < i.remission_below                                                  AS remitted,
        i.response_keep_den * e.followup <= i.response_keep_num * e.baseline            AS responded
    FROM combos AS e
    JOIN instruments AS i USING (instrument)
),
pair_counts AS (
    -- a count with no episode to sum is NULL here; the final SELECT makes it 0
    SELECT
        instrument,
        sum(episodes)                                                     AS measured_episodes,
        sum(windows)                                                      AS early_windows,
        sum(episodes) FILTER (WHERE is_pair)                              AS pairs,
        sum(episodes * baseline) FILTER (WHERE is_pair)                   AS baseline_sum,
        sum(episodes * followup) FILTER (WHERE is_pair)                   AS followup_sum,
        sum(episodes) FILTER (WHERE is_pair AND reliably_improved)        AS reliably_improved,
        sum(episodes) FILTER (WHERE is_pair AND reliably_deteriorated)    AS reliably_deteriorated,
        sum(episodes) FILTER (WHERE is_pair AND at_caseness)              AS at_caseness,
        sum(episodes) FILTER (WHERE is_pair AND at_caseness AND out_of_range) AS recovered,
        sum(episodes) FILTER (WHERE is_pair AND at_caseness AND out_of_range
                              AND reliably_improved)                      AS reliably_recovered,
        sum(episodes) FILTER (WHERE is_pair AND remission_eligible)       AS remission_eligible,
        sum(episodes) FILTER (WHERE is_pair AND remission_eligible AND remitted) AS remitted,
        sum(episodes) FILTER (WHERE is_pair AND at_caseness AND responded) AS responded
    FROM classified
    GROUP BY instrument
),
stays AS (
    -- selected episodes by program, admission and end of measurement: the windows
    -- due depend on nothing else
    SELECT program, admit_date, measured_until(discharge_date, as_of) AS end_date, count(*) AS episodes
    FROM main.selected_episodes()
    GROUP BY ALL
),
due AS (
    -- windows 0 .. the last due, for every selected episode of a program that uses
    -- the instrument (an episode with no score misses them all)
    SELECT i.instrument,
        sum(s.episodes * (last_window_due(s.admit_date, s.end_date, i.every_days) + 1)) AS due_windows
    FROM stays AS s
    JOIN instruments AS i ON uses_instrument(i.programs, s.program)
    GROUP BY i.instrument
),
weeks AS (
    -- every score counts, several on one day included; program weeks 1 to 12 only
    SELECT instrument, week, count(*) AS n, sum(score) AS total
    FROM scores
    WHERE week <= 12
    GROUP BY ALL
),
by_week AS (
    SELECT instrument, list({'week': week, 'n': n, 'total': total} ORDER BY week) AS by_week
    FROM weeks
    GROUP BY instrument
)
SELECT
    i.instrument,
    -- every count of pair_counts, 0 for an instrument without a score of a selected
    -- episode (an entry per instrument in force, present even with no data)
    coalesce(COLUMNS(p.* EXCLUDE (instrument, early_windows)), 0),
    coalesce(d.due_windows, 0)                                AS due_windows,
    coalesce(p.early_windows, 0) + coalesce(l.windows, 0)     AS completed_windows,
    coalesce(w.by_week, [])                                   AS by_week
FROM instruments AS i
LEFT JOIN pair_counts AS p USING (instrument)
LEFT JOIN late_windows AS l USING (instrument)
LEFT JOIN due AS d USING (instrument)
LEFT JOIN by_week AS w USING (instrument)
