-- Data-quality check: loaded admitted referrals whose episode was admitted before
-- their first contact. The import checks this against the episode as it was then;
-- a later enrollment export can move the admission, and the referral stays loaded
-- (nothing is dropped), listed here for review.
SELECT
    r.referral_id,
    r.episode_id,
    r.first_contact_date,
    e.admit_date,
    'episode admitted before the first contact' AS conflict
FROM main.referrals AS r
JOIN main.enrollments AS e USING (episode_id)
WHERE r.outcome = 'admitted'
  AND e.admit_date < r.first_contact_date
  -- Listed on the Data page, so the user's site scope applies to the referral's own
  -- site (NULL when unbound: CLI).
  AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), r.site))
ORDER BY r.episode_id, r.first_contact_date, r.referral_id
