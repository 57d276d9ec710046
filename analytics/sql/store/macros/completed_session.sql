-- The completion share rule: an attended session is completed when its attended
-- minutes reach `completion_share` of its scheduled minutes (config/iop.toml,
-- [sessions] completion_share; the caller binds it as a parameter).
-- Why DECIMAL: 0.9 * 60 must compare exactly (54 of 60 minutes is completed),
-- which binary floating point does not promise.
CREATE OR REPLACE MACRO main.completed_session(status, attended_minutes, scheduled_minutes, completion_share) AS
    status = 'attended' AND attended_minutes >= completion_share::DECIMAL(9, 6) * scheduled_minutes
