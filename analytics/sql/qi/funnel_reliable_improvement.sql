-- Reliable improvement of one instrument ($instruments) per program and site, for
-- funnel plots: pairs (episodes with scores on two or more dates) and those whose
-- improvement from baseline to follow-up reaches the reliable change.
WITH instruments AS (
    SELECT * FROM main.measure_instruments($instruments)
)
SELECT
    p.program,
    p.site                                                                              AS unit,
    count(*) FILTER (WHERE improvement(p.baseline, p.followup, i.higher_is_better)
                           >= i.reliable_change)                                        AS improved,
    count(*)                                                                            AS pairs,
    count(DISTINCT p.patient_id)                                                        AS patients
FROM main.score_pairs() AS p
JOIN instruments AS i USING (instrument)
WHERE p.is_pair
GROUP BY ALL
ORDER BY ALL
