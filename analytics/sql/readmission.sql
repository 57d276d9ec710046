-- Readmission within $days days: of the selected episodes discharged at least
-- $days days before as_of (so every one had the whole window observed), the
-- share followed by another episode of the same patient admitted from the
-- discharge day to discharge + $days days.
-- Why the later episode is looked up in all enrollments (not the filtered
-- selection): a readmission to another program or site is still a
-- readmission. It must be admitted by as_of (not known before), and it stays
-- inside the viewer's site scope (the same allowed_sites the macro applies).
WITH eligible AS (
    SELECT episode_id, patient_id, discharge_date
    FROM main.selected_episodes()
    WHERE discharge_date IS NOT NULL
      AND discharge_date <= as_of - CAST($days AS INTEGER)
),
later AS (
    -- the first later admission of each eligible episode's patient
    SELECT el.episode_id, min(e.admit_date) AS next_admit
    FROM eligible AS el
    JOIN main.enrollments AS e
      ON e.patient_id = el.patient_id
     AND e.episode_id <> el.episode_id
     AND e.admit_date >= el.discharge_date
     AND e.admit_date <= getvariable('as_of')
     AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), e.site))
    GROUP BY el.episode_id
)
SELECT
    count(*) AS eligible,
    count(*) FILTER (WHERE l.next_admit <= el.discharge_date + CAST($days AS INTEGER)) AS readmitted
FROM eligible AS el
LEFT JOIN later AS l USING (episode_id)
