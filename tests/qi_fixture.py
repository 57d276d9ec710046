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

from tests.store_rows import add_store_rows

AS_OF = date(2026, 3, 20)
PROGRAM = "Adult IOP"


def fill(store) -> None:
    add_store_rows(store, "qi")  # tests/fixtures/rows/qi.toml
