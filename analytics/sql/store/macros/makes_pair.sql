-- Whether an episode's scores make a pair (aggregate): scores on at least two different
-- dates; two scores on one day are not a pair.
CREATE OR REPLACE MACRO main.makes_pair(on_date) AS min(on_date) < max(on_date)
