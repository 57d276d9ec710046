-- The at-risk list: active episodes at as_of that meet any of six outreach
-- rules. The dose rule reads the dose's complete weeks and targets
-- (dose_episodes(), complete_week_minutes(): macros), so the week rules stay in
-- one place. "Expected" sessions are those of the macro expected_session, as in
-- every attendance figure; "missed" means no_show. The two score rules read the
-- shared macros (score_pairs(), selected_scores()): $instruments holds the
-- instruments with a reliable change, $screen_instrument names the drug screen.
WITH active AS (
    -- discharge_date is NULL when the episode had not ended by as_of
    SELECT episode_id, patient_id, site, program, admit_date, as_of
    FROM main.selected_episodes()
    WHERE discharge_date IS NULL
),
expected AS (
    -- expected sessions of active episodes, numbered from the newest
    SELECT s.episode_id, s.session_date, s.status,
        row_number() OVER (PARTITION BY s.episode_id ORDER BY s.session_date DESC, s.session_id DESC) AS recency
    FROM main.selected_sessions() AS s
    JOIN active AS a USING (episode_id)
    WHERE expected_session(s.status)
),
streak AS (
    -- no-shows in a row, counted back from the newest expected session; any other
    -- status (attended, patient_cancelled) ends the run
    SELECT episode_id,
        coalesce(min(recency) FILTER (WHERE status <> 'no_show') - 1, count(*)) AS missed_in_row
    FROM expected
    GROUP BY episode_id
),
recent AS (
    -- the last 14 days: as_of - 13 .. as_of, counted as every attendance figure is
    -- (the macro session_attendance_counts(), one session a row)
    SELECT episode_id, session_attendance_counts(status, 1) AS c
    FROM expected
    WHERE session_date > getvariable('as_of') - 14
    GROUP BY episode_id
),
last_attended AS (
    SELECT s.episode_id, max(s.session_date) AS last_attended
    FROM main.selected_sessions() AS s
    JOIN active AS a USING (episode_id)
    WHERE s.status = 'attended'
    GROUP BY s.episode_id
),
low_dose AS (
    -- both of the last two complete weeks below the program's weekly target;
    -- a week without attended minutes has no complete_week_minutes row and reads 0
    SELECT e.episode_id, any_value(e.target_minutes) / 60.0 AS target_hours
    FROM main.dose_episodes($target_programs, $target_hours) AS e
    LEFT JOIN main.complete_week_minutes() AS m
        ON m.episode_id = e.episode_id AND m.week_number BETWEEN e.complete_weeks - 1 AND e.complete_weeks
    WHERE e.complete_weeks >= 2 AND e.target_minutes IS NOT NULL
    GROUP BY e.episode_id
    HAVING count(*) FILTER (WHERE m.minutes >= e.target_minutes) = 0
),
deteriorated AS (
    -- "Reliable deterioration": the latest score minus the baseline (a pair: scores
    -- on two or more dates) is worse by at least the instrument's reliable change
    SELECT p.episode_id,
        list({'instrument': p.instrument, 'baseline': p.baseline, 'latest': p.followup}
             ORDER BY p.instrument) AS deteriorated_on
    FROM main.score_pairs() AS p
    JOIN main.measure_instruments($instruments) AS i USING (instrument)
    JOIN active AS a USING (episode_id)
    WHERE p.is_pair AND -improvement(p.baseline, p.followup, i.higher_is_better) >= i.reliable_change
    GROUP BY p.episode_id
),
screens AS (
    -- each active episode's drug screens, newest first (by date, then id as text)
    SELECT s.episode_id, s.score,
        row_number() OVER (PARTITION BY s.episode_id
                           ORDER BY s.assessment_date DESC, s.assessment_id DESC) AS recency
    FROM main.selected_scores() AS s
    JOIN active AS a USING (episode_id)
    WHERE s.instrument = $screen_instrument
),
positive_after_negatives AS (
    -- "Positive screen after negatives": the latest screen positive (1), the two before it negative (0)
    SELECT episode_id
    FROM screens
    WHERE recency <= 3
    GROUP BY episode_id
    HAVING count(*) FILTER (WHERE recency = 1 AND score = 1) = 1
       AND count(*) FILTER (WHERE recency IN (2, 3) AND score = 0) = 2
)
SELECT
    a.patient_id, a.episode_id, a.site, a.program,
    coalesce(st.missed_in_row, 0)              AS missed_in_row,
    coalesce(r.c.expected, 0)                  AS expected_14,
    coalesce(r.c.attended, 0)                  AS attended_14,
    ld.episode_id IS NOT NULL                  AS low_dose,
    ld.target_hours,
    la.last_attended,
    a.as_of - la.last_attended                 AS days_since_attended,
    d.deteriorated_on,
    pn.episode_id IS NOT NULL                  AS positive_after_negatives,
    -- a week without starting: admitted 7 or more days ago, no attended session yet
    la.last_attended IS NULL AND a.admit_date <= a.as_of - 7 AS not_started,
    a.as_of - a.admit_date                     AS days_since_admission
FROM active AS a
LEFT JOIN streak AS st USING (episode_id)
LEFT JOIN recent AS r USING (episode_id)
LEFT JOIN last_attended AS la USING (episode_id)
LEFT JOIN low_dose AS ld USING (episode_id)
LEFT JOIN deteriorated AS d USING (episode_id)
LEFT JOIN positive_after_negatives AS pn USING (episode_id)
WHERE coalesce(st.missed_in_row, 0) >= 2
   OR (coalesce(r.c.expected, 0) > 0 AND 2 * r.c.attended < r.c.expected)
   OR ld.episode_id IS NOT NULL
   OR d.episode_id IS NOT NULL
   OR pn.episode_id IS NOT NULL
   OR (la.last_attended IS NULL AND a.admit_date <= a.as_of - 7)
ORDER BY days_since_attended DESC NULLS FIRST, a.site, a.episode_id
