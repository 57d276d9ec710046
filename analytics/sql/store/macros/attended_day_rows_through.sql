-- Every attended session dated on or before `through` as its day's bit in a 64-day word
-- (bit k of word w is the day DATE '0001-01-01' + 64 w + k), with its date. With
-- unsummarised_only, only the episodes the summaries do not hold yet (DuckLake).
-- Why a macro: the summary is these bits OR-ed per episode and word, and the reads fall
-- back to the bits themselves (the readers OR them), so both paths count with one
-- definition (see session_rows_through).
CREATE OR REPLACE MACRO main.attended_day_rows_through(through, unsummarised_only) AS TABLE
SELECT
    s.episode_id,
    (s.session_date - DATE '0001-01-01') // 64 AS word,
    1::UBIGINT << ((s.session_date - DATE '0001-01-01') % 64)::UBIGINT AS days,
    s.session_date AS first_day
FROM main.sessions AS s
WHERE s.status = 'attended'
  AND s.session_date <= through
  AND (NOT unsummarised_only OR s.episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))
