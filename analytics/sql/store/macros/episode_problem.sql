-- The problem of a row checked against its episode (sessions, assessments, admitted
-- referrals): an unknown episode first (enrollment_id is the joined enrollment's id,
-- NULL when none), else the kind's own problem with the episode's dates.
CREATE OR REPLACE MACRO main.episode_problem(enrollment_id, episode_id, dated_problem) AS
    CASE WHEN enrollment_id IS NULL THEN main.unknown_episode(episode_id) ELSE dated_problem END
