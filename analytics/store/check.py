"""Checking a store: every table read to the end, so every block's checksum is verified.

`python -m analytics check` reports either "ok" with each table's rows, or
exactly what is damaged (which table, which file, and why). Each backend's
Store.check() fills a CheckReport; the reads happen on a connection of their own,
so a store too old, too new or too damaged for the dashboard can still be checked.

>>> report = open_store("/srv/iop.duckdb").check()
>>> report.ok, report.tables["sessions"]
(True, 982719)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

# Every column of every row: DuckDB verifies a block's checksum when it first reads it,
# and hashing every value reads every block (about 0.1 s of CPU per million sessions).
READ_EVERYTHING = "SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {relation}"


@dataclass(frozen=True)
class CheckReport:
    """What a check found: ok, the rows of each table read, and each problem in one sentence."""
    target: str
    ok: bool
    tables: dict[str, int | None] = field(default_factory=dict)  # None: the table could not be read
    problems: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)  # blocks, files, journal entries

    def as_json(self) -> dict:
        return {"target": self.target, "ok": self.ok, "tables": self.tables, "problems": list(self.problems),
                "details": self.details}


def read_fully(cur: duckdb.DuckDBPyConnection, relation: str) -> int:
    """Read every value of relation (a fixed or checked identifier, or a bound table function); its rows."""
    return int(cur.execute(READ_EVERYTHING.format(relation=relation)).fetchone()[0])
