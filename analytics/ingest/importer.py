"""Importing EHR exports into the store: every row is either loaded or kept in rejects with its reasons.

How a file goes in (the store changes in one transaction for the whole command):
1. The first bytes decide whether it is text at all; sha256, line count and
   blank lines follow from a thread over every byte. Files that cannot be read
   as a whole are refused here or when DuckDB reads the header (ImportRefused;
   nothing of the command is loaded).
2. Pass 1 (sql/ingest_<kind>_rows.sql), before the transaction, into temp
   tables only (see _stage): DuckDB reads every column as text and checks and
   casts each row with column expressions over the whole file, in the file's
   order, so a row's index gives its physical line.
3. Pass 2 (sql/dq_*.sql), inside the transaction: checks across rows and
   against the store (duplicates, unknown episodes, sessions outside their episode).
4. Rejects are written, then the store applies the valid rows by id
   (Store.apply_batch: the latest import wins; identical rows are left alone).

>>> result = import_files(open_store("/tmp/iop.duckdb"), ["enrollments.csv", "sessions.csv"])
>>> [(f.kind, f.inserted, f.rejected) for f in result.files]
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import duckdb
import numpy as np

from analytics.privacy import audit
from analytics.store.extensions import load_extensions
from analytics.ingest.profiles import Profile, load_profile
from analytics.store import Store, StoreError, set_meta, sql_text
from analytics.store.schema import KINDS

if TYPE_CHECKING:  # pandas costs ~0.4 CPU-s to import; an import never needs it
    import pandas as pd

Progress = Callable[[float, str], None]
PSEUDONYM_ENV = "IOP_PSEUDONYM_KEY"
# The CLI's cap on DuckDB's memory; beyond it DuckDB spills to disk beside the store.
MEMORY_ENV = "IOP_IMPORT_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"
_XLSX_MAGIC = b"PK\x03\x04"
# Encodings DuckDB's CSV reader knows without the `encodings` extension.
BUILTIN_ENCODINGS = ("utf-8", "latin-1", "utf-16")
_SCAN_CHUNK = 1 << 22
# Kinds in the order a command applies them: sessions are checked against enrollments.
_KIND_ORDER = ("enrollments", "sessions")


@dataclass(frozen=True)
class FileResult:
    file: str
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int


@dataclass(frozen=True)
class ImportResult:
    files: tuple[FileResult, ...]

    def as_json(self) -> dict:
        return {"files": [asdict(f) for f in self.files]}


class ImportRefused(Exception):
    """A whole file could not be imported; str() is one line naming the file and the problem."""

    def __init__(self, file: str, problem: str, sha256: str | None = None, kind: str | None = None):
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem
        self.sha256 = sha256
        self.kind = kind


# -- step 1: the bytes ------------------------------------------------------------
@dataclass(frozen=True)
class _ByteFacts:
    sha256: str
    physical_lines: int
    blank_lines: bool


@dataclass(frozen=True)
class _Scan:
    """A file that passed the checks on its first bytes; the facts about all of them may follow.

    The hash and line count take one pass over every byte (about 1 s for a 650 MB
    export), so they run in a thread while DuckDB reads the file, and reading
    sha256, physical_lines or blank_lines waits for them.
    """
    path: Path
    label: str  # the file as the user named it, for messages
    size: int
    file_type: str  # csv | xlsx
    facts: Future

    @property
    def sha256(self) -> str:
        return self.facts.result().sha256

    @property
    def physical_lines(self) -> int:
        return self.facts.result().physical_lines

    @property
    def blank_lines(self) -> bool:
        return self.facts.result().blank_lines


def _has_blank_line(data: np.ndarray, breaks: np.ndarray) -> bool:
    """Whether two line breaks in data follow each other, or have only a CR between them.

    >>> b = b"a\\n\\r\\nb"; a = np.frombuffer(b, np.uint8); _has_blank_line(a, np.flatnonzero(a == 10))
    True
    """
    gaps = np.diff(breaks)
    return bool(np.any(gaps == 1)) or bool(np.any(data[breaks[:-1][gaps == 2] + 1] == 13))


def _byte_facts(path: Path) -> _ByteFacts:
    """Hash, count lines and look for blank lines in one pass over a file's bytes.

    hashlib and numpy release the GIL on large buffers, so this runs beside DuckDB.
    """
    digest = hashlib.sha256()
    newlines = 0
    blank = False
    tail = b"\n"  # a file that starts with a newline starts with a blank line
    with open(path, "rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            digest.update(chunk)
            # numpy finds the line breaks: bytes.count and `in` took 1.9 s of a 10 M
            # session import on one thread, this 0.4 s
            data = np.frombuffer(chunk, np.uint8)
            breaks = np.flatnonzero(data == 10)
            newlines += len(breaks)
            if not blank:
                # within the chunk, then the seam with the previous chunk's last bytes
                seam = tail + chunk[:2]
                blank = _has_blank_line(data, breaks) or b"\n\n" in seam or b"\n\r\n" in seam
            tail = (tail + chunk)[-2:] if len(chunk) < 2 else chunk[-2:]
    lines = newlines + (0 if tail.endswith(b"\n") else 1)
    return _ByteFacts(digest.hexdigest(), lines, blank)


def _scan_file(path: Path, label: str, profile: Profile, pool: Executor) -> _Scan:
    """Classify a file by its first bytes, refusing what cannot be imported; the rest goes to pool."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise ImportRefused(label, "file not found") from None
    except IsADirectoryError:
        raise ImportRefused(label, "is a directory, not a file") from None
    except OSError as exc:
        raise ImportRefused(label, f"cannot be opened ({exc.strerror})") from None
    with handle:
        head = handle.read(65536)
        size = os.fstat(handle.fileno()).st_size
    is_zip = head.startswith(_XLSX_MAGIC)
    file_type = profile.file_type or ("xlsx" if is_zip else "csv")
    # A refusal below reads scan.sha256 for the import log, so it waits for the hash.
    scan = _Scan(path, label, size, file_type, pool.submit(_byte_facts, path))
    body = head.removeprefix(b"\xef\xbb\xbf")
    if not body.strip():
        raise ImportRefused(label, "the file is empty", scan.sha256)
    if file_type == "xlsx" and not is_zip:
        raise ImportRefused(label, "not an .xlsx workbook, but the profile says xlsx", scan.sha256)
    if file_type == "csv" and (is_zip or b"\x00" in head) and profile.encoding != "utf-16":
        raise ImportRefused(label, "not a CSV or XLSX file (it holds binary data)", scan.sha256)
    if file_type == "csv" and profile.duckdb_encoding == "utf-8":
        # The reader would take a header it cannot decode as a bad record and use
        # the next line as the header, so the start of the file is checked here.
        whole = head[: head.rfind(b"\n") + 1] if len(head) == 65536 and b"\n" in head else head
        try:
            whole.decode("utf-8")
        except UnicodeDecodeError:
            raise _encoding_refusal(scan, profile) from None
    return scan


# -- step 2: the header and the kind ----------------------------------------------
def _reader_sql(scan: _Scan, profile: Profile) -> tuple[str, dict]:
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
        "escape = $escape, encoding = $encoding, null_padding = false, store_rejects = true)",
        {"path": str(scan.path), "delim": profile.delimiter, "quote": profile.quote,
         "escape": profile.escape, "encoding": profile.duckdb_encoding},
    )


def _read_error(scan: _Scan, profile: Profile, exc: Exception) -> ImportRefused:
    text = str(exc).lower()
    if "invalid unicode" in text or "byte sequence" in text or "not utf-8 encoded" in text:
        return _encoding_refusal(scan, profile)
    if scan.file_type == "xlsx":
        problem = "cannot be read as an .xlsx workbook"
    else:
        problem = (f"cannot be read as a CSV file (a quote that is never closed, or not delimiter "
                   f"{profile.delimiter!r} and quote {profile.quote!r} as the profile says)")
    return ImportRefused(scan.label, problem, scan.sha256)


def _encoding_refusal(scan: _Scan, profile: Profile, kind: str | None = None) -> ImportRefused:
    return ImportRefused(
        scan.label,
        f"cannot be read as {profile.encoding} text; set the file's encoding in its profile "
        "(e.g. encoding = \"windows-1252\")",
        scan.sha256, kind,
    )


def _headers(cur: duckdb.DuckDBPyConnection, scan: _Scan, profile: Profile) -> list[str]:
    if profile.duckdb_encoding not in BUILTIN_ENCODINGS:
        load_extensions(cur, ("encodings",))  # loads once per process; large, so only when needed
    reader, params = _reader_sql(scan, profile)
    try:
        described = cur.execute("DESCRIBE SELECT * FROM " + reader, params).fetchall()
    except duckdb.Error as exc:
        raise _read_error(scan, profile, exc) from None
    return [row[0] for row in described]


@dataclass(frozen=True)
class _Plan:
    scan: _Scan
    kind: str
    positions: tuple[tuple[str, int], ...]  # canonical column -> 0-based position
    extra: tuple[tuple[str, int], ...]  # extra enrollment column header -> position


def _plan(cur: duckdb.DuckDBPyConnection, scan: _Scan, profile: Profile, kind: str | None) -> _Plan:
    headers = _headers(cur, scan, profile)
    kind = kind or profile.kind or _detect_kind(headers, profile)
    if kind is None:
        raise ImportRefused(
            scan.label,
            "cannot tell whether this is a sessions or an enrollments export from its headers "
            "(no session_id, or no episode_id and admit_date, after the profile's mapping); use --kind",
            scan.sha256,
        )
    positions: dict[str, int] = {}
    extra: list[tuple[str, int]] = []
    for i, header in enumerate(headers):
        canonical = profile.canonical_column(kind, header)
        if canonical is not None:
            if canonical in positions:
                raise ImportRefused(scan.label, f"two columns map to {canonical}", scan.sha256, kind)
            positions[canonical] = i
        elif kind == "enrollments" and not profile.is_ignored(header):
            extra.append((header.strip(), i))
    missing = [c.name for c in KINDS[kind].columns if c.required and c.name not in positions]
    if missing:
        raise ImportRefused(
            scan.label,
            f"required column{'s' if len(missing) > 1 else ''} missing for {kind}: {', '.join(missing)}",
            scan.sha256, kind,
        )
    return _Plan(scan, kind, tuple(positions.items()), tuple(extra))


def _detect_kind(headers: Sequence[str], profile: Profile) -> str | None:
    sessions = {profile.canonical_column("sessions", h) for h in headers}
    if "session_id" in sessions:
        return "sessions"
    enrollments = {profile.canonical_column("enrollments", h) for h in headers}
    if {"episode_id", "admit_date"} <= enrollments:
        return "enrollments"
    return None


def _source_sql(plan: _Plan, reader: str) -> str:
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
    if plan.kind == "enrollments":
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


# -- step 3: line numbers -----------------------------------------------------------
def _record_starts(scan: _Scan, profile: Profile) -> tuple[list[int], list[int]]:
    """(byte offset, physical line) of every record start, found by a CSV parser.

    Only used when the file has blank lines, line breaks inside quoted fields or
    records the reader rejected; a plain file's line is its row index + 2.
    Python's csv module splits records the way DuckDB does (blank lines skipped,
    a quote inside an unquoted field taken literally); feeding it line by line
    gives the line, and so the byte offset, where each record starts.
    """
    offsets: list[int] = []
    lines: list[int] = []
    line_offsets = [0]
    encoding = "utf-8-sig" if profile.duckdb_encoding == "utf-8" else profile.encoding

    def text_lines():
        # DuckDB converts to UTF-8 before splitting, so offsets are counted in UTF-8.
        with open(scan.path, "rb") as handle:
            for raw in handle:
                text = raw.decode(encoding, errors="replace")
                encoding_now = text.encode("utf-8")
                line_offsets.append(line_offsets[-1] + len(raw if profile.duckdb_encoding == "utf-8"
                                                         else encoding_now))
                yield text

    reader = csv.reader(
        text_lines(), delimiter=profile.delimiter, quotechar=profile.quote,
        doublequote=profile.escape == profile.quote,
        escapechar=None if profile.escape == profile.quote else profile.escape, strict=False,
    )
    previous = 0
    try:
        for record in reader:
            if record:
                offsets.append(line_offsets[previous])
                lines.append(previous + 1)
            previous = reader.line_num
    except csv.Error:
        pass  # an unterminated quote at the end; the counts below will not match
    return offsets, lines


def _define_rows(cur: duckdb.DuckDBPyConnection, plan: _Plan, profile: Profile, n_rows: int,
                 reader_rejects: int) -> None:
    """Define view ingest_rows: pass 1's rows with their index, physical line and record_id."""
    scan = plan.scan
    id_col = KINDS[plan.kind].id_column
    # The staging table's row ids follow insertion order (the file's order; DuckDB
    # keeps it by default), so a row's index is its distance from the first.
    first, last = cur.execute("SELECT min(rowid), max(rowid) FROM ingest_checked").fetchone()
    if n_rows and last - first + 1 != n_rows:
        raise RuntimeError("staging rows are not numbered contiguously")
    # the base is an integer DuckDB just returned; views cannot take bound parameters
    cur.execute("CREATE OR REPLACE TEMP VIEW ingest_indexed AS "
                f"SELECT rowid - {int(first or 0)} AS idx, * FROM ingest_checked")
    plain = scan.file_type == "xlsx" or (
        reader_rejects == 0 and not scan.blank_lines and scan.physical_lines == n_rows + 1
    )
    cur.execute("DROP TABLE IF EXISTS ingest_lines")
    if plain:
        # header on line 1, one line (or sheet row) per record
        where = ""
        if scan.file_type == "xlsx":
            # A sheet's empty rows are not records (a CSV reader skips blank lines
            # alike); they are left out after numbering, so rows keep their sheet row.
            where = " WHERE NOT (" + " AND ".join(f"{c.name} IS NULL" for c in KINDS[plan.kind].columns) + ")"
        cur.execute("CREATE OR REPLACE TEMP VIEW ingest_rows AS "
                    f"SELECT idx, idx + 2 AS line, {id_col} AS record_id, * EXCLUDE (idx) FROM ingest_indexed"
                    + where)
        cur.execute("CREATE OR REPLACE TEMP TABLE ingest_reject_lines (byte_position BIGINT, line BIGINT)")
        return
    import pyarrow as pa  # only files that need this slow path pay for the import

    offsets, lines = _record_starts(scan, profile)
    record_offsets, record_lines = offsets[1:], lines[1:]  # the first record is the header
    rejected_at: set[int] = set()
    reject_lines: list[tuple[int, int]] = []
    if reader_rejects:
        import bisect

        positions = [r[0] for r in cur.execute(
            "SELECT DISTINCT line_byte_position FROM reject_errors").fetchall()]
        for pos in positions:
            # DuckDB reports a position within a byte of the record's start (on the
            # line break before it, or just after the start), so take the last
            # record starting at or before pos + 1.
            k = bisect.bisect_right(record_offsets, pos + 1) - 1
            if k >= 0:
                rejected_at.add(k)
                reject_lines.append((pos, record_lines[k]))
    good = [line for k, line in enumerate(record_lines) if k not in rejected_at]
    if len(good) != n_rows:
        raise ImportRefused(scan.label, "could not match records to line numbers "
                            "(unusual quoting?); the file was not loaded", scan.sha256, plan.kind)
    line_table = pa.table({"idx": pa.array(range(n_rows), pa.int64()), "line": pa.array(good, pa.int64())})
    reject_table = pa.table({"byte_position": pa.array([p for p, _ in reject_lines], pa.int64()),
                             "line": pa.array([l for _, l in reject_lines], pa.int64())})
    cur.register("ingest_line_arrow", line_table)
    cur.register("ingest_reject_arrow", reject_table)
    cur.execute("CREATE TEMP TABLE ingest_lines AS SELECT * FROM ingest_line_arrow")
    cur.execute("CREATE OR REPLACE TEMP TABLE ingest_reject_lines AS SELECT * FROM ingest_reject_arrow")
    cur.unregister("ingest_line_arrow")
    cur.unregister("ingest_reject_arrow")
    cur.execute("CREATE OR REPLACE TEMP VIEW ingest_rows AS "
                f"SELECT c.idx, l.line, c.{id_col} AS record_id, c.* EXCLUDE (idx) FROM ingest_indexed AS c "
                "JOIN ingest_lines AS l ON l.idx = c.idx")


# -- pseudonyms -------------------------------------------------------------------
def pseudonym(key: bytes, patient_id: str) -> str:
    """The keyed pseudonym stored instead of a patient id: 'p_' + 16 hex of HMAC-SHA256.

    >>> pseudonym(b"k", "MRN-1")
    'p_...'
    """
    return "p_" + hmac.new(key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _pseudonymise(cur: duckdb.DuckDBPyConnection, key: bytes) -> None:
    # DuckDB has no HMAC, so the few distinct ids are hashed here and joined back.
    import pyarrow as pa

    ids = [r[0] for r in cur.execute(
        "SELECT DISTINCT patient_id FROM ingest_checked WHERE patient_id IS NOT NULL").fetchall()]
    table = pa.table({"patient_id": pa.array(ids, pa.string()),
                      "pseudonym": pa.array([pseudonym(key, i) for i in ids], pa.string())})
    cur.register("ingest_pseudonym_arrow", table)
    try:
        cur.execute("UPDATE ingest_checked SET patient_id = p.pseudonym FROM ingest_pseudonym_arrow AS p "
                    "WHERE ingest_checked.patient_id = p.patient_id")
    finally:
        cur.unregister("ingest_pseudonym_arrow")


@dataclass(frozen=True)
class _Staged:
    """One file after pass 1, parked in temp tables until the command's transaction takes it."""
    plan: _Plan
    slot: int  # its position in the command; names its parked tables
    n_rows: int
    reader_rejects: int


def _park(cur: duckdb.DuckDBPyConnection, slot: int, file_type: str, *, back: bool = False) -> None:
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


def _stage(cur: duckdb.DuckDBPyConnection, plan: _Plan, profile: Profile, slot: int,
           pseudonymise_key: bytes | None, step: Callable[[float, str], None]) -> _Staged:
    """Pass 1 of one file into temp tables, before the transaction begins.

    Why before: DuckDB scans a table made inside an open transaction on one
    thread, and the write to the store then took twice as long (11 s against
    5.6 s wall for 10 M sessions). Temp tables are not the store, so making them
    outside the transaction leaves the command atomic.
    """
    scan, kind = plan.scan, plan.kind
    reader, params = _reader_sql(scan, profile)
    params.update({
        "date_formats": list(profile.date_formats),
        "iso_dates": profile.date_formats == ("%Y-%m-%d",),
        "date_formats_text": "(" + " or ".join(profile.date_formats) + ")",
        "excel_dates": scan.file_type == "xlsx",
    })
    if kind == "sessions":
        params["status_keys"], params["status_values"] = profile.label_map("status")
        params["type_keys"], params["type_values"] = profile.label_map("session_type")
    else:
        params["reason_keys"], params["reason_values"] = profile.label_map("discharge_reason")
        if plan.extra:
            params["extra_keys"] = [h for h, _ in plan.extra]

    step(0.0, f"{scan.label}: reading and checking rows")
    cur.execute("DROP TABLE IF EXISTS reject_errors")
    cur.execute("DROP TABLE IF EXISTS reject_scans")
    rows_sql = sql_text(f"ingest/ingest_{kind}_rows").replace("FROM ingest_source", "FROM " + _source_sql(plan, reader))
    try:
        cur.execute("CREATE OR REPLACE TEMP TABLE ingest_checked AS " + rows_sql, params)
    except duckdb.Error as exc:
        raise _read_error(scan, profile, exc) from None
    n_rows = cur.execute("SELECT count(*) FROM ingest_checked").fetchone()[0]
    reader_rejects = 0
    if scan.file_type == "csv":
        # one record can carry several reader errors (one per missing field)
        errors = dict(cur.execute(
            "SELECT error_type, count(DISTINCT line_byte_position) FROM reject_errors GROUP BY ALL").fetchall())
        if errors.get("INVALID ENCODING") or errors.get("INVALID UNICODE"):
            raise _encoding_refusal(scan, profile, kind)
        reader_rejects = cur.execute(
            "SELECT count(DISTINCT line_byte_position) FROM reject_errors").fetchone()[0]
    if pseudonymise_key is not None and kind == "enrollments":
        _pseudonymise(cur, pseudonymise_key)
    _park(cur, slot, scan.file_type)
    return _Staged(plan, slot, n_rows, reader_rejects)


def _import_one(cur: duckdb.DuckDBPyConnection, store: Store, staged: _Staged, profile: Profile,
                batch_id: int, step: Callable[[float, str], None]) -> FileResult:
    plan, n_rows, reader_rejects = staged.plan, staged.n_rows, staged.reader_rejects
    scan, kind = plan.scan, plan.kind
    name = scan.path.name
    _park(cur, staged.slot, scan.file_type, back=True)
    _define_rows(cur, plan, profile, n_rows, reader_rejects)
    if scan.file_type == "xlsx":
        n_rows = cur.execute("SELECT count(*) FROM ingest_rows").fetchone()[0]

    step(0.0, f"{scan.label}: checking across rows")
    cur.execute(sql_text("ingest/dq_duplicates"))
    cur.execute(sql_text(f"ingest/dq_{kind}_across_rows"),
                {"date_format": profile.date_formats[0]} if kind == "sessions" else {})
    # an identical file imported before: its rejects are replaced, not repeated
    cur.execute(
        "DELETE FROM store.rejects WHERE kind = $kind AND batch_id IN "
        "(SELECT batch_id FROM store.import_log WHERE sha256 = $sha AND kind = $kind AND status = 'loaded')",
        {"kind": kind, "sha": scan.sha256},
    )
    reject_params = {"batch_id": batch_id, "file": name, "kind": kind}
    rejected = cur.execute(sql_text("ingest/ingest_rejects"), reject_params).fetchone()[0]
    if reader_rejects:
        # records the CSV reader could not split into the header's fields; for
        # enrollments the raw line is masked, as it may hold a patient id
        rejected += cur.execute(sql_text("ingest/ingest_reader_rejects"), reject_params).fetchone()[0]
    repeats = cur.execute(sql_text("ingest/ingest_repeat_copies")).fetchone()[0]

    step(0.4, f"{scan.label}: applying to the store")
    cur.execute(sql_text("ingest/ingest_excluded"))
    if cur.execute("SELECT count(*) FROM ingest_excluded").fetchone()[0]:
        cur.execute(sql_text("ingest/ingest_valid"))
    else:  # the usual case: nothing excluded across rows, so no anti-join
        cur.execute("CREATE OR REPLACE TEMP VIEW ingest_valid AS SELECT * FROM ingest_rows WHERE problems IS NULL")
    valid = cur.execute("SELECT count(*) FROM ingest_valid").fetchone()[0]
    inserted, updated = store.apply_batch(cur, kind, batch_id, source="ingest_valid")
    total = n_rows + reader_rejects
    unchanged = repeats + valid - inserted - updated
    if inserted + updated + unchanged + rejected != total:
        # every row must be loaded, unchanged or rejected; anything else is a bug, and the
        # transaction is rolled back rather than store a partial file
        raise RuntimeError(f"import counts do not add up for {name}")
    return FileResult(name, kind, total, inserted, updated, unchanged, rejected)


# The staging objects one file's import creates, dropped before the next file.
_DROP_STAGING: tuple[str, ...] = (
    "DROP VIEW IF EXISTS ingest_valid",
    "DROP VIEW IF EXISTS ingest_rows",
    "DROP VIEW IF EXISTS ingest_indexed",
    "DROP TABLE IF EXISTS ingest_checked",
    "DROP TABLE IF EXISTS ingest_lines",
    "DROP TABLE IF EXISTS ingest_reject_lines",
    "DROP TABLE IF EXISTS ingest_dups",
    "DROP TABLE IF EXISTS ingest_file_problems",
    "DROP TABLE IF EXISTS ingest_excluded",
    "DROP TABLE IF EXISTS reject_errors",
    "DROP TABLE IF EXISTS reject_scans",
)


def _drop_staging(cur: duckdb.DuckDBPyConnection) -> None:
    for statement in _DROP_STAGING:
        cur.execute(statement)


def _progress_step(report: Progress, done: int, size: int, total: int, start: float,
                   end: float) -> Callable[[float, str], None]:
    """A file's progress callback: its share of the bytes, within one phase of the command.

    Both phases (pass 1 before the transaction, the rest inside it) walk the
    files in turn, so the command's fraction runs from start to end once per phase.
    """
    def step(fraction: float, message: str) -> None:
        report(min(1.0, start + (end - start) * (done + fraction * size) / total), message)

    return step


def _log(cur: duckdb.DuckDBPyConnection, batch_id: int, name: str, sha: str | None, kind: str | None,
         profile: Profile, started: datetime, status: str, message: str | None,
         result: FileResult | None, actor: str) -> None:
    cur.execute(
        "INSERT INTO store.import_log (batch_id, file, sha256, kind, profile, started_at, finished_at, status,"
        " message, rows, inserted, updated, unchanged, rejected, actor) VALUES ($batch_id, $file, $sha, $kind,"
        " $profile, $started, $finished, $status, $message, $rows, $inserted, $updated, $unchanged, $rejected,"
        " $actor)",
        {
            "batch_id": batch_id, "file": name, "sha": sha, "kind": kind, "profile": profile.name,
            "started": started, "finished": _now(), "status": status, "message": message,
            "rows": result.rows if result else None, "inserted": result.inserted if result else None,
            "updated": result.updated if result else None, "unchanged": result.unchanged if result else None,
            "rejected": result.rejected if result else None, "actor": actor,
        },
    )


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def import_files(
    store: Store,
    paths: Iterable[str | os.PathLike],
    *,
    kind: str | None = None,
    profile: Profile | str | os.PathLike | None = None,
    actor: str = "cli",
    pseudonymise_key: bytes | None = None,
    progress: Progress | None = None,
    mark_sample: bool = False,
    memory_limit: str | None = None,
) -> ImportResult:
    """Import files in one transaction; enrollments first. Raises ImportRefused (nothing loaded).

    Results come in the order the files were applied. memory_limit (e.g. "1GB")
    caps DuckDB's memory for the whole process, spilling to <store>.tmp: the CLI
    sets it; a dashboard process leaves its own settings alone.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    paths = list(paths)
    # On DuckLake an import that replaces something (a re-import's rejects, the
    # meta row) can meet a concurrent commit; the whole import is then rerun.
    return store.retrying(lambda: _import_once(
        store, paths, kind=kind, profile=profile, actor=actor, pseudonymise_key=pseudonymise_key,
        progress=progress, mark_sample=mark_sample, memory_limit=memory_limit))


def _import_once(store: Store, paths: list, *, kind: str | None, profile: Profile | str | os.PathLike | None,
                 actor: str, pseudonymise_key: bytes | None, progress: Progress | None, mark_sample: bool,
                 memory_limit: str | None) -> ImportResult:
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    labels = [str(p) for p in paths]
    started = _now()
    report = progress or (lambda fraction, message: None)
    scans: list[_Scan] = []
    # one thread hashes and counts lines of each file while DuckDB reads them
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iop-import-scan")
    try:
        for label in labels:
            scans.append(_scan_file(Path(label), label, profile, pool))
        total_bytes = sum(s.size for s in scans) or 1
        results: list[FileResult] = []
        staged: list[_Staged] = []

        def stage_all(cur: duckdb.DuckDBPyConnection) -> None:
            # Runs on the write cursor before its transaction begins (see _stage).
            cur.execute("SET enable_progress_bar = false")  # progress goes through `progress`
            if memory_limit:
                cur.execute("SET memory_limit = $v", {"v": memory_limit})
                cur.execute("SET temp_directory = $v", {"v": store.spill_directory()})
            plans = [_plan(cur, scan, profile, kind) for scan in scans]
            plans.sort(key=lambda p: _KIND_ORDER.index(p.kind))
            done = 0
            for slot, plan in enumerate(plans):
                staged.append(_stage(cur, plan, profile, slot, pseudonymise_key,
                                     _progress_step(report, done, plan.scan.size, total_bytes, 0.0, 0.5)))
                done += plan.scan.size

        with store.write(prepare=stage_all) as cur:
            done = 0
            for item in staged:
                plan = item.plan
                batch_id = store.next_batch_id(cur)
                step = _progress_step(report, done, plan.scan.size, total_bytes, 0.5, 1.0)
                try:
                    result = _import_one(cur, store, item, profile, batch_id, step)
                finally:
                    _drop_staging(cur)
                _log(cur, batch_id, result.file, plan.scan.sha256, plan.kind, profile, started,
                     "loaded", None, result, actor)
                detail = asdict(result) | {"sha256": plan.scan.sha256, "profile": profile.name,
                                           "pseudonymised": pseudonymise_key is not None}
                audit.record(cur, actor, "import", detail)
                results.append(result)
                done += plan.scan.size
            set_meta(cur, "contents", "sample" if mark_sample else "imported")
        report(1.0, "import finished")
        return ImportResult(tuple(results))
    except ImportRefused as refused:
        _log_refused(store, refused, profile, started, actor)
        raise
    finally:
        pool.shutdown(cancel_futures=True)


def _log_refused(store: Store, refused: ImportRefused, profile: Profile, started: datetime, actor: str) -> None:
    """Record a refused attempt in its own transaction, after the command's rollback."""
    if not store.exists():
        return  # no store yet: do not create one just to log a refusal
    try:
        with store.write() as cur:
            _log(cur, store.next_batch_id(cur), Path(refused.file).name, refused.sha256, refused.kind, profile,
                 started, "refused", refused.problem, None, actor)
    except (StoreError, duckdb.Error):
        pass  # the refusal itself is what the user needs to see


def session_conflicts(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Loaded sessions dated outside their episode's current dates (after an enrollment update moved them)."""
    return cur.execute(sql_text("ingest/dq_session_conflicts")).df()
