-- (continues session_cells.sql) Session counts and minutes by status over the
-- selected sessions (episode filters, site scope and as_of already applied by
-- selected_sessions()). One row. The rates are divided in Python
-- (sessions._with_rates), so an empty selection gives None and the breakdowns
-- share the one definition.
-- Why program_cancelled is separate: the program, not the patient, called the
-- session off, so it is kept out of every attendance denominator (expected).
, session_counts AS (
    SELECT
        coalesce(sum(sessions) FILTER (WHERE expected_session(status)), 0)::BIGINT      AS expected,
        coalesce(sum(sessions) FILTER (WHERE status = 'attended'), 0)::BIGINT           AS attended,
        coalesce(sum(sessions) FILTER (WHERE status = 'no_show'), 0)::BIGINT            AS no_show,
        coalesce(sum(sessions) FILTER (WHERE status = 'patient_cancelled'), 0)::BIGINT  AS patient_cancelled,
        coalesce(sum(sessions) FILTER (WHERE status = 'program_cancelled'), 0)::BIGINT  AS program_cancelled,
        coalesce(sum(sessions), 0)::BIGINT                                              AS scheduled_total,
        coalesce(sum(at_share) FILTER (WHERE status = 'attended'), 0)::BIGINT           AS completed_sessions,
        coalesce(sum(scheduled_minutes) FILTER (WHERE expected_session(status)), 0)::BIGINT
                                                                                        AS minutes_scheduled,
        coalesce(sum(attended_minutes) FILTER (WHERE status = 'attended'), 0)::BIGINT   AS minutes_attended
    FROM session_cells
)
