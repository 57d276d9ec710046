"""A small hand-made store for the QI tests; every expected figure in the tests is worked from it.

as_of 2026-03-20 (so as_of - 28 = 2026-02-20).
e1 p1 North  admit 01-05, dropped_out 01-20      sessions: s1 01-06 Bea 180/180 attended, s2 01-08 Bea no_show
e2 p2 North  admit 01-06, completed 03-01        s3 01-07 Al 60/60 attended, s4 01-07 Bea 60/60 attended,
                                                 s5 02-03 Cy program_cancelled, s6 02-04 Cy patient_cancelled
e3 p3 South  admit 01-10, active                 s7 01-12 Cy 180/170 attended, s8 02-10 Cy no_show,
                                                 s9 03-16 Cy 180/180 attended
e4 p4 South  admit 02-20, active                 no sessions
"""
from __future__ import annotations

from datetime import date

from tests.conftest import add_enrollments, add_sessions

AS_OF = date(2026, 3, 20)
PROGRAM = "Adult IOP"


def fill(store) -> None:
    add_enrollments(store, [
        ("e1", "p1", "North", PROGRAM, "2026-01-05", "2026-01-20", "dropped_out"),
        ("e2", "p2", "North", PROGRAM, "2026-01-06", "2026-03-01", "completed"),
        ("e3", "p3", "South", PROGRAM, "2026-01-10", None, None),
        ("e4", "p4", "South", PROGRAM, "2026-02-20", None, None),
    ])
    add_sessions(store, [
        ("s1", "e1", "2026-01-06", "group", "Bea", 180, 180, "attended"),
        ("s2", "e1", "2026-01-08", "group", "Bea", 180, 0, "no_show"),
        ("s3", "e2", "2026-01-07", "individual", "Al", 60, 60, "attended"),
        ("s4", "e2", "2026-01-07", "group", "Bea", 60, 60, "attended"),
        ("s5", "e2", "2026-02-03", "group", "Cy", 180, 0, "program_cancelled"),
        ("s6", "e2", "2026-02-04", "group", "Cy", 180, 0, "patient_cancelled"),
        ("s7", "e3", "2026-01-12", "group", "Cy", 180, 170, "attended"),
        ("s8", "e3", "2026-02-10", "group", "Cy", 180, 0, "no_show"),
        ("s9", "e3", "2026-03-16", "group", "Cy", 180, 180, "attended"),
    ])
