-- Readmission within each window in $days (e.g. [30, 90]), in one pass: of the
-- selected episodes discharged at least `days` days before as_of (so every one
-- had the whole window observed), the share followed by another episode of the
-- same patient admitted from the discharge day to discharge + `days` days.
-- Why the later episode is looked up in all enrollments (not the filtered
-- selection): a readmission to another program or site is still a
-- readmission. It must be admitted by as_of (not known before), and it stays
-- inside the viewer's site scope (the same allowed_sites the macro applies).
-- Why one query for all windows: the first later admission is found once.
WITH discharged AS (
    SELECT episode_id, patient_id, discharge_date, as_of
    FROM main.selected_episodes()
    WHERE discharge_date IS NOT NULL
      AND discharge_date <= as_of - (SELECT min(d) FROM unnest($days::INTEGER[]) AS t(d))
),
later AS (
    -- the first later admission of each eligible episode's patient
    SELECT d.episode_id, min(e.admit_date) AS next_admit
    FROM discharged AS d
    JOIN main.enrollments AS e
      ON e.patient_id = d.patient_id
     AND e.episode_id <> d.episode_id
     AND e.admit_date >= d.discharge_date
     AND e.admit_date <= getvariable('as_of')
     AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), e.site))
    GROUP BY d.episode_id
),
windows AS (
    SELECT unnest($days::INTEGER[]) AS days
)
SELECT
    w.days,
    count(d.episode_id) FILTER (WHERE d.discharge_date <= d.as_of - w.days) AS eligible,
    count(d.episode_id) FILTER (WHERE d.discharge_date <= d.as_of - w.days
                                  AND l.next_admit <= d.discharge_date + w.days) AS readmitted
FROM windows AS w
LEFT JOIN (discharged AS d LEFT JOIN later AS l USING (episode_id)) ON true
GROUP BY w.days
ORDER BY w.days
