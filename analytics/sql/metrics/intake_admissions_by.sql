-- Admission rate per value of a referral column, within each program (of the referral):
-- admitted / decided, where decided leaves out the referrals still pending on as_of.
-- The dimension expression comes from analytics/metrics/breakdowns.py; a referral that
-- lacks the column is counted as '(not recorded)'.
SELECT
    program,
    coalesce(CAST(/*dimension*/ AS VARCHAR), '(not recorded)')         AS unit,
    count(*)                                                           AS referrals,
    count(*) FILTER (WHERE outcome = 'admitted')                       AS admitted,
    count(*) FILTER (WHERE outcome <> 'pending')                       AS decided,
    count(DISTINCT patient_id) FILTER (WHERE outcome <> 'pending')     AS decided_patients
FROM main.selected_referrals()
GROUP BY program, unit
ORDER BY program, unit
