-- The selected sessions, ready to be counted by session_attendance_counts() and
-- session_delivery_counts(): each row is one session (`sessions` = 1) and is a
-- completed one (`completed` = 1) when completed_session() says so, with the
-- completion share bound by the caller. Cells of sessions counted ahead
-- (session_counts_by_type) carry the same columns, summed, so the two count
-- macros read rows and cells alike.
CREATE OR REPLACE MACRO main.counted_sessions(completion_share) AS TABLE
SELECT
    s.*,
    1 AS sessions,
    completed_session(s.status, s.attended_minutes, s.scheduled_minutes, completion_share)::INTEGER
        AS completed
FROM main.selected_sessions() AS s
