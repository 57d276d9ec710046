-- The measurement window a score falls in: window k covers admit + k*every ..
-- admit + (k+1)*every - 1, and window 0 also the intake screening before admission
-- (from assessment_window_start(), the first day an import accepts a score); earlier:
-- no window (NULL).
CREATE OR REPLACE MACRO main.measurement_window(on_date, admit_date, every_days) AS
    CASE WHEN on_date >= admit_date THEN (on_date - admit_date) // every_days
         WHEN on_date >= assessment_window_start(admit_date) THEN 0 END
