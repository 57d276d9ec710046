-- Session counts and minutes by status over the selected sessions (episode
-- filters, site scope and as_of already applied by selected_sessions()).
-- The rates are divided in Python (sessions._with_rates), so an empty selection
-- gives None and the breakdowns share the one definition.
-- Why program_cancelled is separate: the program, not the patient, called the
-- session off, so it is kept out of every attendance denominator (expected).
-- Why DECIMAL for the completion share: 0.9 * scheduled must compare exactly
-- (54 of 60 minutes is completed), which binary floating point does not promise.
WITH per_status AS (
    -- one GROUP BY splits the statuses: cheaper than a FILTER per status over
    -- every session (this is the headline query, run on every page)
    SELECT
        status,
        count(*)                                                               AS sessions,
        count(*) FILTER (WHERE attended_minutes
            >= $completion_share::DECIMAL(9, 6) * scheduled_minutes)           AS at_share,
        sum(scheduled_minutes)                                                 AS scheduled_minutes,
        sum(attended_minutes)                                                  AS attended_minutes
    FROM main.selected_sessions()
    GROUP BY status
),
patients AS (
    -- distinct patients with a selected session: the same set as
    -- count(DISTINCT patient_id) over selected_sessions(), but the distinct
    -- count runs over episodes instead of every session
    SELECT count(DISTINCT patient_id) AS patients
    FROM main.selected_episodes()
    WHERE episode_id IN (
        SELECT episode_id FROM main.sessions WHERE session_date <= getvariable('as_of')
    )
)
SELECT
    coalesce(sum(sessions) FILTER (WHERE status <> 'program_cancelled'), 0)::BIGINT AS expected,
    coalesce(sum(sessions) FILTER (WHERE status = 'attended'), 0)::BIGINT           AS attended,
    coalesce(sum(sessions) FILTER (WHERE status = 'no_show'), 0)::BIGINT            AS no_show,
    coalesce(sum(sessions) FILTER (WHERE status = 'patient_cancelled'), 0)::BIGINT  AS patient_cancelled,
    coalesce(sum(sessions) FILTER (WHERE status = 'program_cancelled'), 0)::BIGINT  AS program_cancelled,
    coalesce(sum(sessions), 0)::BIGINT                                              AS scheduled_total,
    coalesce(sum(at_share) FILTER (WHERE status = 'attended'), 0)::BIGINT           AS completed_sessions,
    coalesce(sum(scheduled_minutes) FILTER (WHERE status <> 'program_cancelled'), 0)::BIGINT
                                                                                    AS minutes_scheduled,
    coalesce(sum(attended_minutes) FILTER (WHERE status = 'attended'), 0)::BIGINT   AS minutes_attended,
    (SELECT patients FROM patients)                                                 AS patients
FROM per_status
