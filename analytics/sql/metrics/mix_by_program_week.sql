-- How the mix runs through the program: share of attended minutes by session
-- type within each program week 1..12 (program_week(), as for dose). All
-- attended sessions count, including those of a week not yet complete: a share
-- needs no complete week.
WITH by_week_type AS (
    -- attended_weeks(): the attended sessions on or after the admission, per program week
    SELECT
        week_number, session_type,
        sum(attended_minutes)::BIGINT     AS attended_minutes,
        sum(sessions)::BIGINT             AS sessions,
        count(DISTINCT episode_id)        AS episodes,
        count(DISTINCT patient_id)        AS patients
    FROM main.attended_weeks()
    WHERE week_number <= 12
    GROUP BY week_number, session_type
)
SELECT
    week_number, session_type, attended_minutes, sessions, episodes, patients,
    attended_minutes / nullif(sum(attended_minutes) OVER (PARTITION BY week_number), 0) AS share
FROM by_week_type
ORDER BY week_number, session_type
