"""The instrument definitions a store scores with: written by each import, read by the metrics.

Why stored: every importer and replica of an organisation must score alike, so the
metrics read the store's table, not the local config. A changed config takes effect
at the next import. A store no import has written definitions into yet (one made
before instruments existed) is read with the configured ones, as an import would write them.

>>> with store.write() as cur: write_instruments(cur, configured_instruments(), batch_id=7)
>>> with store.read() as cur: [i.name for i in instruments_in_force(cur)][:2]
['phq9', 'gad7']
"""
from __future__ import annotations

from fractions import Fraction

import duckdb

from analytics.instruments import Coding, Instrument, configured_instruments

_COLUMNS = ("instrument, label, min_score, max_score, higher_is_better, caseness, reliable_change, "
            "remission_below, response_drop, every_days, programs, codes")


def _row(i: Instrument) -> dict:
    return {
        "instrument": i.name, "label": i.label, "min_score": i.min_score, "max_score": i.max_score,
        "higher_is_better": i.higher_is_better, "caseness": i.caseness, "reliable_change": i.reliable_change,
        "remission_below": i.remission_below,
        "response_drop": None if i.response_drop is None else float(i.response_drop),
        "every_days": i.every_days, "programs": list(i.programs),
        "codes": [{"system": c.system, "code": c.code} for c in i.codes],
    }


def _instrument(row: tuple) -> Instrument:
    (name, label, lo, hi, better, caseness, rc, remission, drop, every, programs, codes) = row
    return Instrument(name, label, lo, hi, bool(better), every, caseness, rc, remission,
                      None if drop is None else Fraction(str(drop)).limit_denominator(10_000),
                      tuple(programs or ()), tuple(Coding(c["system"], c["code"]) for c in codes or ()))


def stored_instruments(cur: duckdb.DuckDBPyConnection) -> tuple[Instrument, ...]:
    """The definitions the store holds (empty before any import wrote them), by name."""
    rows = cur.execute(f"SELECT {_COLUMNS} FROM instruments ORDER BY instrument").fetchall()
    return tuple(_instrument(r) for r in rows)


def instruments_in_force(cur: duckdb.DuckDBPyConnection) -> tuple[Instrument, ...]:
    """What the metrics score with: the store's definitions, else the configured ones."""
    return stored_instruments(cur) or configured_instruments()


def write_instruments(cur: duckdb.DuckDBPyConnection, instruments: tuple[Instrument, ...], batch_id: int) -> bool:
    """Make the store's definitions these (inside an import's transaction); whether anything changed.

    Unchanged definitions are not rewritten, so concurrent DuckLake imports do not
    conflict here.
    """
    if sorted(stored_instruments(cur), key=lambda i: i.name) == sorted(instruments, key=lambda i: i.name):
        return False
    cur.execute("DELETE FROM store.instruments")
    for i in instruments:
        cur.execute(
            f"INSERT INTO store.instruments ({_COLUMNS}, batch_id) VALUES ($instrument, $label, $min_score, "
            "$max_score, $higher_is_better, $caseness, $reliable_change, $remission_below, $response_drop, "
            "$every_days, $programs, $codes, $batch_id)", _row(i) | {"batch_id": batch_id})
    return True
