-- The session counts behind the attendance, no-show and patient cancellation
-- rates (docs/metrics.md, "Sessions"): one definition for the headline figures,
-- their breakdowns, the control charts and the funnels, so they cannot disagree.
-- session_delivery_counts() has the rest of the session counts; the charts and
-- funnels need only these, and each count is work done for every session.
-- An aggregate: call it in a grouped query over counted_sessions() rows, or over
-- cells that count several sessions (`sessions` each), and unnest() the struct.
--   expected            sessions the patient was expected at (expected_session):
--                       the denominator of the three rates
--   attended, no_show, patient_cancelled: by status
-- 0, not NULL, when a group has none.
CREATE OR REPLACE MACRO main.session_attendance_counts(status, sessions) AS {
    'expected':          coalesce(sum(sessions) FILTER (WHERE expected_session(status)), 0)::BIGINT,
    'attended':          coalesce(sum(sessions) FILTER (WHERE status = 'attended'), 0)::BIGINT,
    'no_show':           coalesce(sum(sessions) FILTER (WHERE status = 'no_show'), 0)::BIGINT,
    'patient_cancelled': coalesce(sum(sessions) FILTER (WHERE status = 'patient_cancelled'), 0)::BIGINT
}
