-- The first day an episode's scores may be dated: intake screening may come up to
-- 30 days before admission. The CSV import's date check and the FHIR import's search
-- for a score's episode both use it, so a score cannot load by one route and be
-- refused by the other.
CREATE OR REPLACE MACRO main.assessment_window_start(admit_date) AS admit_date - 30
