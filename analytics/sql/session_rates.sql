-- Session counts and minutes by status over the selected sessions (episode
-- filters, site scope and as_of already applied by selected_sessions()).
-- One pass; the rates are divided in Python so an empty selection gives None.
-- Why program_cancelled is separate: the program, not the patient, called the
-- session off, so it is kept out of every attendance denominator (expected).
-- Why DECIMAL for the completion share: 0.9 * scheduled must compare exactly
-- (54 of 60 minutes is completed), which binary floating point does not promise.
SELECT
    count(*) FILTER (WHERE status <> 'program_cancelled')                     AS expected,
    count(*) FILTER (WHERE status = 'attended')                                AS attended,
    count(*) FILTER (WHERE status = 'no_show')                                 AS no_show,
    count(*) FILTER (WHERE status = 'patient_cancelled')                       AS patient_cancelled,
    count(*) FILTER (WHERE status = 'program_cancelled')                       AS program_cancelled,
    count(*)                                                                   AS scheduled_total,
    count(*) FILTER (WHERE status = 'attended'
        AND attended_minutes >= $completion_share::DECIMAL(9, 6) * scheduled_minutes)
                                                                               AS completed_sessions,
    coalesce(sum(scheduled_minutes) FILTER (WHERE status <> 'program_cancelled'), 0)::BIGINT
                                                                               AS minutes_scheduled,
    coalesce(sum(attended_minutes) FILTER (WHERE status = 'attended'), 0)::BIGINT AS minutes_attended,
    count(DISTINCT patient_id)                                                 AS patients
FROM main.selected_sessions()
