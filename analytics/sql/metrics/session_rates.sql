-- The session counts over the selected sessions (episode filters, site scope and
-- as_of already applied by selected_sessions()), with the distinct patients
-- behind them for small-cell suppression. One row. The rates are divided in
-- Python (sessions._with_rates), so an empty selection gives None and the
-- breakdowns share the one definition.
-- The counts are the macros session_attendance_counts() and session_delivery_counts(),
-- summed over the counts per session type (session_counts_by_type());
-- session_summary.sql gives the same counts without the patients.
WITH counts AS (
    -- every count column summed over the session types (0 when nothing is selected)
    SELECT coalesce(sum(COLUMNS(* EXCLUDE session_type)), 0)::BIGINT
    FROM main.session_counts_by_type($completion_share)
),
patients AS (
    -- distinct patients with a selected session: the same set as
    -- count(DISTINCT patient_id) over selected_sessions(), read from the counts per
    -- episode instead of every session
    SELECT count(DISTINCT patient_id) AS patients
    FROM main.session_counts($completion_share)
)
SELECT c.*, (SELECT patients FROM patients) AS patients
FROM counts AS c
