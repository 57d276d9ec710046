-- Distinct attended days are kept as bits of 64-day calendar words: day n (days since
-- 0001-01-01) is bit n % 64 of word n // 64, so two sessions on one day set one bit.
-- Grouping the attended sessions by (episode, word) needs no join with the episodes, and
-- each row costs a division and a shift, where joining every session to its episode to
-- place it in the windows directly would carry each session's dates through the join
-- (benchmarks/bench_metrics.py measures what the access figures add to the summary).
-- window_days() takes the part of a word that falls in a window and moves it so that bit
-- k is day k of the window. Every shift is kept in 0..63 whatever the inputs (DuckDB
-- refuses any other), and a word outside the window gives 0.
CREATE OR REPLACE MACRO main.window_days(days, word, first_day, length) AS
CASE WHEN first_day - word * 64 <= 63 AND first_day + length - 1 - word * 64 >= 0 THEN
    -- the word's bits from the window's first day (lo) to its last (hi) ...
    ((days & (~0::UBIGINT >> (63 - least(greatest(first_day + length - 1 - word * 64, 0), 63))::UBIGINT)
           & ~((1::UBIGINT << least(greatest(first_day - word * 64, 0), 63)::UBIGINT) - 1))
        -- ... moved up when the word starts after the window's first day, down when before
        << least(greatest(word * 64 - first_day, 0),
                 63 - least(greatest(first_day + length - 1 - word * 64, 0), 63))::UBIGINT)
        >> least(greatest(first_day - word * 64, 0), 63)::UBIGINT
ELSE 0::UBIGINT END
