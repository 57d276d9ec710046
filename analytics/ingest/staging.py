"""Pass 1 of a file: every row read, checked and cast into temp tables, parked until its turn.

Runs before the command's transaction (Store.write's prepare): DuckDB scans a
table made inside an open transaction on one thread, and the write to the store
then took twice as long (11 s against 5.6 s wall for 10 M sessions). Temp tables
are not the store, so making them outside the transaction leaves the command atomic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import duckdb

from analytics.ingest.fhir import stage_fhir
from analytics.ingest.files import encoding_refusal, first_long_record, oversized_refusal, read_error
from analytics.ingest.profiles import Profile
from analytics.ingest.pseudonyms import pseudonymise
from analytics.ingest.readers import Plan, reader_sql, source_sql
from analytics.instruments import Instrument
from analytics.store import sql_text
from analytics.store.schema import KINDS
from analytics.store.sql_files import sql_parameters


@dataclass(frozen=True)
class Staged:
    """One file after pass 1, parked in temp tables until the command's transaction takes it."""
    plan: Plan
    slot: int  # its position in the command; names its parked tables
    n_rows: int
    reader_rejects: int


def park(cur: duckdb.DuckDBPyConnection, slot: int, file_type: str, *, back: bool = False) -> None:
    """Rename pass 1's tables to the slot's own names (back=False), or back to the fixed ones.

    Each file's pass 1 runs before the transaction, under the fixed names the
    SQL files use, and is parked under its slot's names until its turn. The
    names are built from an integer only; nothing from the file reaches them.
    """
    pairs = [("ingest_checked", f"ingest_parked_{int(slot)}")]
    if file_type == "csv":  # the CSV reader's store_rejects tables
        pairs += [("reject_errors", f"ingest_parked_{int(slot)}_errors"),
                  ("reject_scans", f"ingest_parked_{int(slot)}_scans")]
    for fixed, parked in pairs:
        source, target = (parked, fixed) if back else (fixed, parked)
        cur.execute(f"ALTER TABLE {source} RENAME TO {target}")


def stage(cur: duckdb.DuckDBPyConnection, plan: Plan, profile: Profile, slot: int,
          instruments: Sequence[Instrument], pseudonymise_key: bytes | None,
          step: Callable[[float, str], None]) -> Staged:
    """Pass 1 of one file (sql/ingest/ingest_<kind>_rows.sql) into temp tables, parked under slot.

    instruments: the definitions in force, which an assessments file's rows are checked against.
    """
    scan, kind = plan.scan, KINDS[plan.kind]
    if scan.file_type == "ndjson":
        step(0.0, f"{scan.label}: reading and checking FHIR resources")
        try:
            n_rows = stage_fhir(cur, scan, profile, instruments, pseudonymise_key)
        except duckdb.Error as exc:
            raise read_error(scan, profile, exc) from None
        park(cur, slot, scan.file_type)
        return Staged(plan, slot, n_rows, 0)
    rows_file = f"ingest/ingest_{kind.name}_rows"
    names = [i.name for i in instruments]
    # what the row checks may bind: the profile's date formats and its label maps,
    # and the instruments' names and score ranges
    offered = {
        "date_formats": list(profile.date_formats),
        "iso_dates": profile.date_formats == ("%Y-%m-%d",),
        "date_formats_text": "(" + " or ".join(profile.date_formats) + ")",
        "excel_dates": scan.file_type == "xlsx",
        "instrument_names": names,
        "instrument_min": [i.min_score for i in instruments],
        "instrument_max": [i.max_score for i in instruments],
        "instrument_list": ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names),
    }
    vocabularies = {"instrument": names}  # labels whose canonical values are configuration
    for label in kind.labels:
        offered[f"{label}_keys"], offered[f"{label}_values"] = profile.label_map(label, vocabularies.get(label))
    reader, params = reader_sql(scan, profile)
    params.update({k: v for k, v in offered.items() if k in sql_parameters(rows_file)})
    if kind.keeps_extra and plan.extra:
        params["extra_keys"] = [h for h, _ in plan.extra]

    step(0.0, f"{scan.label}: reading and checking rows")
    cur.execute("DROP TABLE IF EXISTS reject_errors")
    cur.execute("DROP TABLE IF EXISTS reject_scans")
    rows_sql = sql_text(rows_file).replace("FROM ingest_source", "FROM " + source_sql(plan, reader))
    try:
        cur.execute("CREATE OR REPLACE TEMP TABLE ingest_checked AS " + rows_sql, params)
    except duckdb.Error as exc:
        raise read_error(scan, profile, exc) from None
    n_rows = cur.execute("SELECT count(*) FROM ingest_checked").fetchone()[0]
    reader_rejects = 0
    if scan.file_type == "csv":
        # one record can carry several reader errors (one per missing field)
        errors = dict(cur.execute(
            "SELECT error_type, count(DISTINCT line_byte_position) FROM reject_errors GROUP BY ALL").fetchall())
        if errors.get("INVALID ENCODING") or errors.get("INVALID UNICODE"):
            raise encoding_refusal(scan, profile, kind.name)
        if errors.get("LINE SIZE OVER MAXIMUM"):
            # a record over files.MAX_RECORD_BYTES: the whole file is refused, naming its line
            raise oversized_refusal(scan, *first_long_record(scan, profile), kind.name)
        if scan.long_line is not None:
            raise oversized_refusal(scan, *scan.long_line, kind.name)
        reader_rejects = cur.execute(
            "SELECT count(DISTINCT line_byte_position) FROM reject_errors").fetchone()[0]
    if pseudonymise_key is not None and kind.patient_column:
        pseudonymise(cur, pseudonymise_key, kind.patient_column)
    park(cur, slot, scan.file_type)
    return Staged(plan, slot, n_rows, reader_rejects)


# The staging objects one file's import creates, dropped before the next file.
_DROP_STAGING: tuple[str, ...] = (
    "DROP VIEW IF EXISTS ingest_valid",
    "DROP VIEW IF EXISTS ingest_rows",
    "DROP VIEW IF EXISTS ingest_indexed",
    "DROP TABLE IF EXISTS ingest_checked",
    "DROP TABLE IF EXISTS ingest_lines",
    "DROP TABLE IF EXISTS ingest_reject_lines",
    "DROP TABLE IF EXISTS ingest_dups",
    "DROP TABLE IF EXISTS ingest_duplicate_problems",
    "DROP TABLE IF EXISTS ingest_file_problems",
    "DROP TABLE IF EXISTS ingest_excluded",
    "DROP TABLE IF EXISTS reject_errors",
    "DROP TABLE IF EXISTS reject_scans",
    "DROP TABLE IF EXISTS ingest_fhir_episodes",
    "DROP TABLE IF EXISTS ingest_fhir_retracted",
)


def drop_staging(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables and views of the file just applied."""
    for statement in _DROP_STAGING:
        cur.execute(statement)
