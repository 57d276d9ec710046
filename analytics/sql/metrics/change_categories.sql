-- Change categories of one instrument ($instruments) per value of a breakdown
-- dimension (/*dimension*/, a fixed expression from analytics/metrics/breakdowns.py
-- over score_pairs(), which carries the episode's site, program, admission and
-- extra columns): reliably improved, no reliable change, reliably deteriorated
-- (they add up to the pairs), and of the pairs at caseness, those recovered.
WITH instruments AS (
    SELECT * FROM main.measure_instruments($instruments)
),
pairs AS (
    SELECT
        /*dimension*/                                                                  AS dimension_value,
        p.patient_id,
        improvement(p.baseline, p.followup, i.higher_is_better) >= i.reliable_change   AS improved,
        -improvement(p.baseline, p.followup, i.higher_is_better) >= i.reliable_change  AS deteriorated,
        in_clinical_range(p.baseline, i.caseness, i.higher_is_better)                   AS at_caseness,
        NOT in_clinical_range(p.followup, i.caseness, i.higher_is_better)               AS out_of_range
    FROM main.score_pairs() AS p
    JOIN instruments AS i USING (instrument)
    WHERE p.is_pair
)
SELECT
    dimension_value,
    count(*)                                                    AS pairs,
    count(*) FILTER (WHERE improved)                            AS reliably_improved,
    count(*) FILTER (WHERE NOT improved AND NOT deteriorated)   AS no_reliable_change,
    count(*) FILTER (WHERE deteriorated)                        AS reliably_deteriorated,
    count(*) FILTER (WHERE at_caseness)                         AS at_caseness,
    count(*) FILTER (WHERE at_caseness AND out_of_range)        AS recovered,
    count(DISTINCT patient_id)                                  AS patients
FROM pairs
GROUP BY dimension_value
ORDER BY dimension_value
