-- The problem of a row whose episode the store does not know (sessions, assessments and
-- admitted referrals name one): one wording for every kind.
CREATE OR REPLACE MACRO main.unknown_episode(episode_id) AS
    {'column': 'episode_id', 'raw_value': episode_id,
     'reason': 'unknown episode: no enrollment with this episode_id in the store (import enrollments first)'}
