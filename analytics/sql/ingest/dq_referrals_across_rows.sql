-- Problems of referral rows that only show across rows or against the store: a
-- referral id repeated with different content, and an admitted referral whose
-- episode the store does not know or was admitted before the referral's first
-- contact. Enrollments of the same command were applied first, so they count as
-- known. One row per record index. The date is shown as read, in the profile's
-- (first) date format.
CREATE OR REPLACE TEMP TABLE ingest_file_problems AS
WITH duplicate AS (
    -- dq_duplicate_problems.sql
    SELECT idx, problem FROM ingest_duplicate_problems
),
episode AS (
    -- only admitted referrals name an episode (pass 1 rejects one on any other outcome).
    -- The referral's site and program may differ from the episode's (referred to one
    -- site, admitted at another), so only the episode's existence and date are checked.
    SELECT
        r.idx,
        CASE
            WHEN e.episode_id IS NULL THEN
                main.unknown_episode(r.episode_id)
            ELSE
                {'column': 'first_contact_date', 'raw_value': strftime(r.first_contact_date, $date_format),
                 'reason': 'first contact after the admission of its episode (episode ' || e.episode_id
                           || ' admitted ' || strftime(e.admit_date, '%Y-%m-%d') || ')'}
        END AS problem
    FROM ingest_rows AS r
    -- enrollments: the current version of each episode (latest wins on DuckLake); named
    -- unqualified so that, right after a migration, the writer's TEMP view is the one read
    LEFT JOIN enrollments AS e ON e.episode_id = r.episode_id
    WHERE r.outcome = 'admitted'
      AND r.episode_id IS NOT NULL
      AND (e.episode_id IS NULL
           OR e.admit_date < r.first_contact_date)
)
SELECT idx, list(problem ORDER BY problem.column) AS problems
FROM (SELECT * FROM duplicate UNION ALL SELECT * FROM episode)
GROUP BY idx
