-- Data coverage: sessions recorded per site and calendar month (selected sessions,
-- site scope applied). A month with none, or far fewer than its neighbours,
-- usually means a missing export rather than a month nobody came.
SELECT
    site,
    strftime(session_date, '%Y-%m') AS month,
    count(*) AS sessions,
    count(DISTINCT episode_id) AS episodes,
    count(DISTINCT patient_id) AS patients
FROM main.selected_sessions()
GROUP BY ALL
ORDER BY site, month
