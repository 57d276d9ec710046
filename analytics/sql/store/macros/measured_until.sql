-- For measurement, an episode ends at its discharge when known by as_of, else at as_of.
CREATE OR REPLACE MACRO main.measured_until(discharge_date, as_of) AS coalesce(discharge_date, as_of)
