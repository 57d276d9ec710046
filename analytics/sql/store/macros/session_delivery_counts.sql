-- The rest of the session counts (docs/metrics.md, "Sessions"), beside
-- session_attendance_counts(): what the program scheduled and delivered.
--   program_cancelled   sessions the program called off
--   scheduled_total     every session: the program cancellation rate's denominator
--   completed_sessions  attended sessions that reached the completion share
--                       (counted_sessions().completed)
--   minutes_scheduled   scheduled minutes of expected sessions
--   minutes_attended    attended minutes of attended sessions
-- An aggregate over counted_sessions() rows or cells of them, like
-- session_attendance_counts(); unnest() the struct. 0, not NULL, when a group has none.
CREATE OR REPLACE MACRO main.session_delivery_counts(status, sessions, completed, scheduled_minutes, attended_minutes) AS {
    'program_cancelled':  coalesce(sum(sessions) FILTER (WHERE status = 'program_cancelled'), 0)::BIGINT,
    'scheduled_total':    coalesce(sum(sessions), 0)::BIGINT,
    'completed_sessions': coalesce(sum(completed) FILTER (WHERE status = 'attended'), 0)::BIGINT,
    'minutes_scheduled':  coalesce(sum(scheduled_minutes) FILTER (WHERE expected_session(status)), 0)::BIGINT,
    'minutes_attended':   coalesce(sum(attended_minutes) FILTER (WHERE status = 'attended'), 0)::BIGINT
}
