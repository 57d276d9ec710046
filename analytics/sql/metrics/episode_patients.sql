-- Distinct patients among the selected episodes: the count small-cell
-- suppression looks at (a figure about 3 patients is suppressed even if they
-- had 12 episodes). Kept apart from event_counts.sql, whose per-time rows
-- cannot carry a distinct count.
SELECT count(DISTINCT patient_id) AS patients
FROM main.selected_episodes()
