-- The referral figures, in one pass over the selected referrals: how many, by outcome as
-- known on as_of (an admission after as_of reads as pending: selected_referrals() says
-- so once), and the days from first contact to the intake assessment (one after as_of is
-- not known yet, so it is NULL there). Distinct patients only when $patients (for
-- small-cell suppression).
SELECT
    count(*)                                                        AS referrals,
    histogram(outcome)                                              AS outcomes,
    count(intake_assessment_date)                                   AS intake_assessed,
    -- an even count gives the mean of the two middle values (quantile_cont)
    median(intake_assessment_date - first_contact_date)             AS median_days_to_intake_assessment,
    count(DISTINCT patient_id) FILTER (WHERE $patients)             AS referral_patients
FROM main.selected_referrals()
