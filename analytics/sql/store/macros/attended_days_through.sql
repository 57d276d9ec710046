-- What the summary table episode_attended_days holds: per episode, the days with an
-- attended session on or before `through`, as 64-day words of bits (bit k of word w is
-- the day DATE '0001-01-01' + 64 w + k), with the first such day of each word. The
-- access figures (continuation, initiation and engagement) count days in windows from
-- these words (window_days).
-- Why a macro: one definition for the importer's build and the reads' fallback
-- (see session_counts_through).
CREATE OR REPLACE MACRO main.attended_days_through(through, episodes) AS TABLE
SELECT
    s.episode_id,
    (s.session_date - DATE '0001-01-01') // 64 AS word,
    bit_or(1::UBIGINT << ((s.session_date - DATE '0001-01-01') % 64)::UBIGINT) AS days,
    min(s.session_date) AS first_day
FROM main.sessions AS s
WHERE s.status = 'attended'
  AND s.session_date <= through
  AND (episodes = 'all' OR s.episode_id IN (SELECT episode_id FROM main.selected_episodes()))
  AND (episodes <> 'unsummarised' OR s.episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
GROUP BY s.episode_id, word
