-- The attendance denominator: an "expected" session is every scheduled session
-- but those the program called off (program_cancelled). The program, not the
-- patient, cancelled those, so no attendance, no-show or completion rate counts
-- them. DuckDB inlines a macro, so writing the rule once costs nothing.
CREATE OR REPLACE MACRO main.expected_session(status) AS status <> 'program_cancelled'
