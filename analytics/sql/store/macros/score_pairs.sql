-- One row per instrument and selected episode with a score: the baseline and the
-- follow-up (baseline_score(), followup_score(): the tie rules), and whether they
-- make a pair (makes_pair(): scores on at least two different dates).
CREATE OR REPLACE MACRO main.score_pairs() AS TABLE
SELECT
    instrument, episode_id,
    any_value(patient_id)                                    AS patient_id,
    any_value(site)                                          AS site,
    any_value(program)                                       AS program,
    any_value(admit_date)                                    AS admit_date,
    any_value(extra)                                         AS extra,
    min(assessment_date)                                     AS first_date,
    max(assessment_date)                                     AS last_date,
    baseline_score(score, assessment_date, assessment_id)    AS baseline,
    followup_score(score, assessment_date, assessment_id)    AS followup,
    makes_pair(assessment_date)                              AS is_pair
FROM main.selected_scores()
GROUP BY instrument, episode_id
