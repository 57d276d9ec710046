-- The instrument definitions in force, bound as one list of structs
-- (analytics.metrics.measures.bound_instruments), one row each; the cast types
-- every field, so an empty list or a threshold no instrument has still binds. A
-- threshold an instrument lacks is NULL, and every rule on it then reads NULL
-- (not counted). Response is held as integers (keep_num / keep_den = 1 - response
-- drop), so "at most half the baseline" compares exactly:
-- keep_den x follow-up <= keep_num x baseline.
CREATE OR REPLACE MACRO main.measure_instruments(definitions) AS TABLE
SELECT d.*
FROM (
    SELECT unnest(CAST(definitions AS STRUCT(
        instrument VARCHAR, higher_is_better BOOLEAN, caseness INTEGER, reliable_change INTEGER,
        remission_below INTEGER, response_keep_num BIGINT, response_keep_den BIGINT, every_days INTEGER,
        programs VARCHAR[])[])) AS d
)
