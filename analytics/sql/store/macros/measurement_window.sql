-- The measurement window a score falls in: window k covers admit + k*every ..
-- admit + (k+1)*every - 1, and window 0 also the 30 days before admission (intake
-- screening); earlier: no window (NULL).
CREATE OR REPLACE MACRO main.measurement_window(on_date, admit_date, every_days) AS
    CASE WHEN on_date >= admit_date THEN (on_date - admit_date) // every_days
         WHEN on_date >= admit_date - 30 THEN 0 END
