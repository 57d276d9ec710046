"""How DuckDB reads an export: the reader SQL, the raw headers, the kind, and the column plan.

The kind of a file comes from its headers and schema.KINDS; the plan says which
column of the file is which canonical column, and which are kept as extra.

>>> plan = plan_file(cur, scan, profile, kind=None)
>>> plan.kind, dict(plan.positions)["session_id"]
('sessions', 0)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import duckdb

from analytics.ingest.fhir import fhir_kind
from analytics.ingest.files import MAX_COLUMNS, MAX_RECORD_BYTES, ImportRefused, Scan, read_error
from analytics.ingest.profiles import Profile, header_key
from analytics.store.extensions import load_extensions
from analytics.store.schema import KINDS, Kind

# Encodings DuckDB's CSV reader knows without the `encodings` extension.
BUILTIN_ENCODINGS = ("utf-8", "latin-1", "utf-16")


def reader_sql(scan: Scan, profile: Profile) -> tuple[str, dict]:
    """The table function that reads the file as text, and its bound parameters."""
    if scan.file_type == "xlsx":
        params = {"path": str(scan.path)}
        if profile.sheet:
            params["sheet"] = profile.sheet
            return ("read_xlsx($path, header = true, all_varchar = true, stop_at_empty = false, "
                    "sheet = $sheet)"), params
        return "read_xlsx($path, header = true, all_varchar = true, stop_at_empty = false)", params
    return (
        "read_csv($path, header = true, all_varchar = true, delim = $delim, quote = $quote, "
        "escape = $escape, encoding = $encoding, null_padding = false, store_rejects = true, "
        "max_line_size = $max_line_size)",
        {"path": str(scan.path), "delim": profile.delimiter, "quote": profile.quote,
         "escape": profile.escape, "encoding": profile.duckdb_encoding, "max_line_size": MAX_RECORD_BYTES},
    )


def headers(cur: duckdb.DuckDBPyConnection, scan: Scan, profile: Profile) -> list[str]:
    """The file's header row as DuckDB reads it (a repeated name comes back renamed: Status_1)."""
    if profile.duckdb_encoding not in BUILTIN_ENCODINGS:
        load_extensions(cur, ("encodings",))  # loads once per process; large, so only when needed
    reader, params = reader_sql(scan, profile)
    try:
        described = cur.execute("DESCRIBE SELECT * FROM " + reader, params).fetchall()
    except duckdb.Error as exc:
        raise read_error(scan, profile, exc) from None
    return [row[0] for row in described]


def raw_headers(cur: duckdb.DuckDBPyConnection, scan: Scan, profile: Profile) -> list[str | None]:
    """The file's header record as written: DuckDB renames a repeated name (Status_1) and names
    an empty one (column3), so the first record is read again as data. None for an empty name."""
    reader, params = reader_sql(scan, profile)
    # (with the reader's own options: its sniffer needs store_rejects to pass a bad line)
    raw = reader.replace("header = true", "header = false", 1)
    try:
        row = cur.execute("SELECT * FROM " + raw + " LIMIT 1", params).fetchone()
    except duckdb.Error as exc:
        raise read_error(scan, profile, exc) from None
    return [None if v is None or not v.strip() else v for v in (row or ())]


def check_headers(cur: duckdb.DuckDBPyConnection, scan: Scan, profile: Profile, found: Sequence[str],
                  reader_params: tuple[str, dict]) -> frozenset[int]:
    """Refuse a header a file cannot be imported with; returns the positions of empty names to leave out.

    - more than MAX_COLUMNS columns;
    - a name given twice, compared as the profile matches headers (case and
      spaces ignored), whatever the column is for (ignored columns too): nothing
      says which copy holds the value;
    - an empty name over a column holding a value (an empty name over an empty
      column is a trailing delimiter, and that column is left out).
    """
    if len(found) > MAX_COLUMNS:
        raise ImportRefused(scan.label, f"its header has {len(found):,} columns; the limit is {MAX_COLUMNS:,}",
                            scan.sha256)
    raw = raw_headers(cur, scan, profile)
    if len(raw) != len(found):
        raw = list(found)  # the first record did not read as the header did: DuckDB's names are all there is
    seen: dict[str, int] = {}
    for i, name in enumerate(raw):
        if name is None:
            continue
        key = header_key(name)
        if key in seen:
            first, second = raw[seen[key]].strip(), name.strip()
            spelled = f": {first!r} and {second!r}" if first != second else ""
            raise ImportRefused(
                scan.label,
                f"the header {first!r} appears twice (columns {seen[key] + 1} and {i + 1}{spelled}, "
                "matching ignores case and spaces); rename or remove one", scan.sha256)
        seen[key] = i
    empty = frozenset(i for i, name in enumerate(raw) if name is None)
    reader, params = reader_params
    for i in sorted(empty):
        # one scan of that column, only for a file with an unnamed column (a trailing delimiter)
        filled = cur.execute(f"SELECT count(#{int(i) + 1}) FROM {reader}", params).fetchone()[0]
        if filled:
            raise ImportRefused(scan.label, f"column {i + 1} has no header name but holds values; "
                                "name it in the header, or remove the column", scan.sha256)
    return empty


# Kinds in the order detection tries them: those detected only when no other is, last.
_DETECTION_ORDER: tuple[Kind, ...] = tuple(sorted(KINDS.values(), key=lambda k: k.detected_last))


def detected_kinds(headers: Sequence[str], profile: Profile) -> list[str]:
    """The kinds whose identifying headers the file has (after the profile's mapping).

    Kinds marked detected_last count only when no other kind fits.
    >>> detected_kinds(["session_id", "episode_id", "session_date"], load_profile(None))
    ['sessions']
    """
    for last in (False, True):
        found = [
            kind.name for kind in _DETECTION_ORDER
            if kind.detected_last == last
            and set(kind.detected_by) <= {profile.canonical_column(kind.name, h) for h in headers}
        ]
        if found:
            return found
    return []


def _either(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _undetected_problem() -> str:
    kinds = [("an " if k.name[0] in "aeiou" else "a ") + k.name for k in _DETECTION_ORDER]
    signs = ", or ".join("no " + " and ".join(k.detected_by) for k in _DETECTION_ORDER)
    return (f"cannot tell whether this is {_either(kinds)} export from its headers "
            f"({signs}, after the profile's mapping); use --kind")


@dataclass(frozen=True)
class Plan:
    scan: Scan
    kind: str
    positions: tuple[tuple[str, int], ...]  # canonical column -> 0-based position
    extra: tuple[tuple[str, int], ...]  # extra column header -> position (kinds that keep extra columns)


def plan_file(cur: duckdb.DuckDBPyConnection, scan: Scan, profile: Profile, kind: str | None) -> Plan:
    """The file's kind (given, the profile's, or detected) and where each column is.

    An ndjson file is FHIR Bulk Data: its resources carry their own element names, so
    it has no columns to place (analytics/ingest/fhir.py reads it).
    """
    if scan.file_type == "ndjson":
        return Plan(scan, fhir_kind(scan, kind or profile.kind), (), ())
    found = headers(cur, scan, profile)
    unnamed = check_headers(cur, scan, profile, found, reader_sql(scan, profile))
    found = [h for i, h in enumerate(found) if i not in unnamed] if unnamed else found
    positions_in_file = [i for i in range(len(found) + len(unnamed)) if i not in unnamed]
    if kind is None and profile.kind is None:
        detected = detected_kinds(found, profile)
        if not detected:
            raise ImportRefused(scan.label, _undetected_problem(), scan.sha256)
        if len(detected) > 1:
            raise ImportRefused(
                scan.label,
                f"its headers fit more than one kind of export ({' and '.join(detected)}); use --kind",
                scan.sha256,
            )
        kind = detected[0]
    kind = kind or profile.kind
    declared = KINDS[kind]
    positions: dict[str, int] = {}
    extra: list[tuple[str, int]] = []
    for header, i in zip(found, positions_in_file):
        canonical = profile.canonical_column(kind, header)
        if canonical is not None:
            if canonical in positions:
                raise ImportRefused(scan.label, f"two columns map to {canonical}", scan.sha256, kind)
            positions[canonical] = i
        elif declared.keeps_extra and not profile.is_ignored(header):
            extra.append((header.strip(), i))
    missing = [c.name for c in declared.columns if c.required and c.name not in positions]
    if missing:
        raise ImportRefused(
            scan.label,
            f"required column{'s' if len(missing) > 1 else ''} missing for {kind}: {', '.join(missing)}",
            scan.sha256, kind,
        )
    return Plan(scan, kind, tuple(positions.items()), tuple(extra))


def source_sql(plan: Plan, reader: str) -> str:
    """The file's columns under canonical names, trimmed, empty text as NULL.

    Identifiers come from analytics.store.schema and positions are integers (#n), so no
    text from the file reaches the SQL; extra columns' names are a bound list.
    """
    positions = dict(plan.positions)
    select = []
    for column in KINDS[plan.kind].columns:
        if column.name in positions:
            select.append(f"{_trimmed(positions[column.name])} AS {column.name}")
        else:
            select.append(f"NULL::VARCHAR AS {column.name}")
    if KINDS[plan.kind].keeps_extra:
        if plan.extra:
            values = ", ".join(_trimmed(i) for _, i in plan.extra)
            select.append(f"MAP($extra_keys::VARCHAR[], [{values}]::VARCHAR[]) AS extra")
        else:
            select.append("MAP([]::VARCHAR[], []::VARCHAR[]) AS extra")
    return "(SELECT " + ", ".join(select) + " FROM " + reader + ")"


def _trimmed(position: int) -> str:
    # The reader already makes empty fields NULL. trim() copies every string, so it
    # runs only on values that start or end with a space (4x cheaper over a file).
    ref = f"#{position + 1}"
    return f"CASE WHEN starts_with({ref}, ' ') OR ends_with({ref}, ' ') THEN nullif(trim({ref}), '') ELSE {ref} END"
