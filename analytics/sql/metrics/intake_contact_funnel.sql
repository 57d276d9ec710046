-- The path from first contact to the fourth day of care, as one row of nested counts.
-- Over the selected referrals whose first contact is on or before as_of - 28, so each
-- has had four weeks to move along. A referral reaches a step only through every step
-- before it, so no step can exceed the one before: contact, an intake assessment, an
-- admission known by as_of (with its intake assessment), then 1, 2, 3 and 4 distinct
-- days with an attended session in the episode's first 28 days (up to as_of).
WITH contacts AS (
    SELECT referral_id, patient_id, intake_assessment_date IS NOT NULL AS assessed,
        outcome = 'admitted' AS admitted, episode_id, episode_admit_date
    FROM main.selected_referrals()
    WHERE first_contact_date <= getvariable('as_of') - 28
),
episodes AS (
    -- the admitted referrals' episodes, wherever they were admitted: the path belongs to
    -- the referral's site, which received the request
    SELECT DISTINCT episode_id, episode_admit_date
    FROM contacts
    WHERE admitted
),
care_days AS (
    SELECT s.episode_id, count(DISTINCT s.session_date) AS days
    FROM main.sessions AS s
    JOIN episodes AS e USING (episode_id)
    WHERE s.status = 'attended'
      AND s.session_date BETWEEN e.episode_admit_date AND e.episode_admit_date + 27
      AND s.session_date <= getvariable('as_of')
    GROUP BY s.episode_id
),
paths AS (
    SELECT c.patient_id, c.assessed, c.assessed AND c.admitted AS admitted, coalesce(d.days, 0) AS days
    FROM contacts AS c
    LEFT JOIN care_days AS d USING (episode_id)
)
SELECT
    count(*)                                        AS contacts,
    count(*) FILTER (WHERE assessed)                AS assessed,
    count(*) FILTER (WHERE admitted)                AS admitted,
    count(*) FILTER (WHERE admitted AND days >= 1)  AS day_1,
    count(*) FILTER (WHERE admitted AND days >= 2)  AS day_2,
    count(*) FILTER (WHERE admitted AND days >= 3)  AS day_3,
    count(*) FILTER (WHERE admitted AND days >= 4)  AS day_4,
    count(DISTINCT patient_id)                      AS patients
FROM paths
