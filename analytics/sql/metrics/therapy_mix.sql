-- (continues session_cells.sql and mix_shares.sql) The therapy mix on its own,
-- one row per session type with attended sessions, in session-type order.
SELECT session_type, attended_minutes, share
FROM mix_shares
ORDER BY session_type
