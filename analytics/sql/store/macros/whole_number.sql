-- A count read as DECIMAL(18, 3) that is a whole number (false for NULL); the range
-- checks of counts apply only to whole numbers, so a value fails one check, not two.
CREATE OR REPLACE MACRO main.whole_number(number) AS number IS NOT NULL AND number % 1 = 0
