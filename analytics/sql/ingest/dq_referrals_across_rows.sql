-- Problems of referral rows that only show against the store: an admitted referral
-- whose episode the store does not know or was admitted before the referral's first
-- contact. Enrollments of the same command were applied first, so they count as known;
-- enrollments is the current version of each episode (latest wins on DuckLake), named
-- unqualified so that, right after a migration, the writer's TEMP view is the one read.
-- One row per problem.
CREATE OR REPLACE TEMP TABLE ingest_kind_problems AS
SELECT
    r.idx,
    main.episode_problem(e.episode_id, r.episode_id, main.date_as_read(
        'first_contact_date', r.first_contact_date, $date_format,
        'first contact after the admission of its episode (episode ' || e.episode_id
        || ' admitted ' || strftime(e.admit_date, '%Y-%m-%d') || ')')) AS problem
-- only admitted referrals name an episode (pass 1 rejects one on any other outcome).
-- The referral's site and program may differ from the episode's (referred to one
-- site, admitted at another), so only the episode's existence and date are checked.
FROM ingest_rows AS r
LEFT JOIN enrollments AS e ON e.episode_id = r.episode_id
WHERE r.outcome = 'admitted'
  AND r.episode_id IS NOT NULL
  AND (e.episode_id IS NULL
       OR e.admit_date < r.first_contact_date)
