-- A count (minutes, weeks) given but not a whole number: `x % 1 = 0`, as comparing x with
-- trunc(x) widens both to a 128-bit DECIMAL(21, 3) and is many times slower
-- (benchmarks/README.md). raw is the text as read, number its DECIMAL(18, 3) or NULL.
CREATE OR REPLACE MACRO main.not_whole_number(raw, number) AS
    raw IS NOT NULL AND NOT main.whole_number(number)
