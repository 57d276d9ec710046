-- Why a macro: a referral must be selected the same way in every access figure, and a
-- site lead must never see another site's referral, whichever query asks.
CREATE OR REPLACE MACRO main.selected_referrals() AS TABLE
-- Referrals visible at as_of, selected by their OWN site, program, extra columns and first
-- contact (the admission date filters bound first_contact_date), narrowed by the site scope.
-- What was known on as_of: an admitted referral whose episode was admitted after as_of (or
-- is not in the store) was still pending, and an intake assessment after as_of not done yet.
SELECT
    r.referral_id, r.patient_id, r.site, r.program, r.first_contact_date,
    CASE WHEN r.intake_assessment_date <= getvariable('as_of') THEN r.intake_assessment_date END
        AS intake_assessment_date,
    CASE WHEN r.outcome = 'admitted' AND e.episode_id IS NULL THEN 'pending' ELSE r.outcome END AS outcome,
    -- the episode the referral led to by as_of, wherever it was admitted (a referral to one
    -- site may be admitted at another); its figures still count under the referral's site
    e.episode_id, e.admit_date AS episode_admit_date,
    r.extra,
    CAST(getvariable('as_of') AS DATE) AS as_of
FROM main.referrals AS r
LEFT JOIN (
    SELECT episode_id, admit_date FROM main.enrollments WHERE admit_date <= getvariable('as_of')
) AS e
    -- one equality, so DuckDB hashes it (a second condition in ON made a nested loop)
    ON e.episode_id = CASE WHEN r.outcome = 'admitted' THEN r.episode_id END
-- the episodes' rules on the referral's own site, program, columns and first contact (a
-- column no referral holds reads as '')
WHERE r.first_contact_date <= getvariable('as_of')
  AND (getvariable('admitted_from') IS NULL OR r.first_contact_date >= getvariable('admitted_from'))
  AND (getvariable('admitted_to') IS NULL OR r.first_contact_date <= getvariable('admitted_to'))
  AND (len(getvariable('sites')) = 0 OR list_contains(getvariable('sites'), r.site))
  AND (len(getvariable('programs')) = 0 OR list_contains(getvariable('programs'), r.program))
  AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), r.site))
  -- every filtered extra column must match one of the values given for it, a missing value
  -- counting as empty (with no such filter the first test settles it while planning, so
  -- `extra` is not read)
  AND (len(getvariable('extra_columns')) = 0 OR len(list_filter(getvariable('extra_columns'),
        c -> NOT list_contains(getvariable('extra_pairs'), c || '=' || coalesce(r.extra[c], '')))) = 0)
