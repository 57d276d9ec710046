-- Data-quality check: loaded sessions dated outside their episode's current dates.
-- An enrollment update can move an episode's dates after its sessions were loaded;
-- those sessions stay (nothing is dropped) and are listed here for review.
SELECT
    s.session_id,
    s.episode_id,
    s.session_date,
    e.admit_date,
    e.discharge_date,
    CASE WHEN s.session_date < e.admit_date THEN 'before admission' ELSE 'after discharge' END AS conflict
FROM main.sessions AS s
JOIN main.enrollments AS e USING (episode_id)
WHERE (s.session_date < e.admit_date
   OR s.session_date > e.discharge_date)
  -- Listed on the Data page, so the user's site scope applies (NULL when unbound: CLI).
  AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), e.site))
ORDER BY s.episode_id, s.session_date, s.session_id
