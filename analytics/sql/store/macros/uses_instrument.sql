-- An instrument with no programs listed is used by every program.
CREATE OR REPLACE MACRO main.uses_instrument(programs, program) AS
    len(programs) = 0 OR list_contains(programs, program)
