-- Admissions and discharges of the selected episodes in a date window
-- [$start, $end] and in the window of the same length just before it, for the
-- overview tiles that compare a period with the previous one. Dates after
-- as_of are not known yet, so a window reaching past as_of counts up to as_of.
SELECT
    count(*) FILTER (WHERE admit_date BETWEEN $start::DATE AND $end::DATE)         AS admissions,
    count(*) FILTER (WHERE discharge_date BETWEEN $start::DATE AND $end::DATE)     AS discharges,
    count(*) FILTER (WHERE admit_date BETWEEN $prev_start::DATE AND $prev_end::DATE)     AS previous_admissions,
    count(*) FILTER (WHERE discharge_date BETWEEN $prev_start::DATE AND $prev_end::DATE) AS previous_discharges,
    -- active at the end of a window's last day: admitted by then and not yet
    -- discharged (as at as_of, a discharge on that day ends the episode)
    count(*) FILTER (WHERE admit_date <= $end::DATE
                       AND (discharge_date IS NULL OR discharge_date > $end::DATE)) AS active_at_end,
    count(*) FILTER (WHERE admit_date <= $prev_end::DATE
                       AND (discharge_date IS NULL OR discharge_date > $prev_end::DATE)) AS active_at_previous_end
FROM main.selected_episodes()
