-- One row per complete episode-week of the selected episodes, with its attended
-- minutes and its program's weekly target. Other dose queries read it as the
-- CTE `episode_weeks` (dose.py prefixes it), so the week rules live here only.
--
-- Week k of an episode covers admit_date + 7(k-1) .. admit_date + 7k - 1, and it
-- counts once its last day is <= min(discharge_date, as_of). Weeks are made per
-- episode with range() (one row per episode-week, never one per day), and
-- attended minutes are summed per (episode, week) before the left join, so a
-- complete week without attended sessions reads 0 minutes.
WITH episodes AS (
    -- the number of complete weeks of each selected episode; discharge_date
    -- is already NULL when it falls after as_of, so the episode runs to as_of
    SELECT
        episode_id, patient_id, site, program, admit_date, extra,
        greatest(0, (least(coalesce(discharge_date, as_of), as_of) - admit_date + 1) // 7)
            AS complete_weeks
    FROM main.selected_episodes()
),
weeks AS (
    SELECT
        episode_id, patient_id, site, program, admit_date, extra,
        unnest(range(1, complete_weeks + 1)) AS week_number
    FROM episodes
    WHERE complete_weeks > 0
),
week_minutes AS (
    -- attended minutes per episode-week; sessions before admission have no week
    SELECT
        episode_id,
        (session_date - admit_date) // 7 + 1 AS week_number,
        sum(attended_minutes) AS minutes
    FROM main.selected_sessions()
    WHERE status = 'attended' AND session_date >= admit_date
    GROUP BY ALL
),
targets AS (
    -- weekly targets per program, bound from config (analytics/config.py)
    SELECT
        unnest($target_programs::VARCHAR[]) AS program,
        unnest($target_hours::DOUBLE[]) AS target_hours
)
SELECT
    w.episode_id, w.patient_id, w.site, w.program, w.admit_date, w.extra, w.week_number,
    coalesce(m.minutes, 0) AS minutes,
    t.target_hours,
    -- compared in minutes: targets are whole half-hours, so this is exact
    coalesce(m.minutes, 0) >= t.target_hours * 60 AS met
FROM weeks AS w
LEFT JOIN week_minutes AS m USING (episode_id, week_number)
LEFT JOIN targets AS t USING (program)
