"""Physical line numbers of records: a row's index gives its line, unless the file is unusual.

A plain file (no blank lines, no line breaks inside quoted fields, no records the
reader rejected) has each record on line index + 2 (index + 1 in an ndjson file,
which has no header). Otherwise a CSV parser finds where every record starts, and
the reader's rejects are placed on their lines; in an ndjson file, numpy finds the
lines that are not blank.
"""
from __future__ import annotations

import csv

import duckdb
import numpy as np

from analytics.ingest.files import ImportRefused, Scan
from analytics.ingest.profiles import Profile
from analytics.ingest.readers import Plan
from analytics.store.schema import KINDS


def record_starts(scan: Scan, profile: Profile) -> tuple[list[int], list[int]]:
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


# What DuckDB's JSON reader takes for a blank line: nothing but these bytes (C's isspace).
_BLANK_BYTES = np.zeros(256, dtype=bool)
_BLANK_BYTES[[9, 10, 11, 12, 13, 32]] = True
_CHUNK = 1 << 22


def nonblank_lines(path) -> np.ndarray:
    """The 1-based numbers of a file's lines that hold anything but white space, in order.

    An ndjson reader skips blank lines, so record k of the file is on the k-th of
    these. numpy goes through the file a chunk at a time (no loop over lines): a
    line holds something when the count of non-space bytes grows across it.
    """
    found: list[np.ndarray] = []
    line = 1  # the line the chunk starts in
    pending = False  # whether the line running into the chunk holds something so far
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            data = np.frombuffer(chunk, np.uint8)
            breaks = np.flatnonzero(data == 10)
            ink = np.concatenate(([0], np.cumsum(~_BLANK_BYTES[data], dtype=np.int64)))
            starts = np.concatenate(([0], breaks + 1))
            ends = np.concatenate((breaks, [len(data)]))
            holds = ink[ends] - ink[starts] > 0  # per piece between breaks
            holds[0] |= pending
            found.append(line + np.flatnonzero(holds[:-1]))  # the pieces a break ends are whole lines
            line += len(breaks)
            pending = bool(holds[-1])
    if pending:
        found.append(np.array([line]))
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


def define_rows(cur: duckdb.DuckDBPyConnection, plan: Plan, profile: Profile, n_rows: int,
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
    if scan.file_type == "ndjson":
        _define_ndjson_rows(cur, plan, n_rows)
        return
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

    offsets, lines = record_starts(scan, profile)
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


def _define_ndjson_rows(cur: duckdb.DuckDBPyConnection, plan: Plan, n_rows: int) -> None:
    """ingest_rows of an ndjson file: no header; every line counts, blank ones included."""
    scan = plan.scan
    id_col = KINDS[plan.kind].id_column
    cur.execute("CREATE OR REPLACE TEMP TABLE ingest_reject_lines (byte_position BIGINT, line BIGINT)")
    if scan.physical_lines == n_rows:
        # one resource per line, none blank
        cur.execute("CREATE OR REPLACE TEMP VIEW ingest_rows AS "
                    f"SELECT idx, idx + 1 AS line, {id_col} AS record_id, * EXCLUDE (idx) FROM ingest_indexed")
        return
    import pyarrow as pa

    lines = nonblank_lines(scan.path)
    if len(lines) != n_rows:
        raise ImportRefused(scan.label, "could not match resources to line numbers; the file was not loaded",
                            scan.sha256, plan.kind)
    cur.register("ingest_line_arrow", pa.table({"idx": pa.array(np.arange(n_rows, dtype=np.int64)),
                                                "line": pa.array(lines)}))
    cur.execute("CREATE OR REPLACE TEMP TABLE ingest_lines AS SELECT * FROM ingest_line_arrow")
    cur.unregister("ingest_line_arrow")
    cur.execute("CREATE OR REPLACE TEMP VIEW ingest_rows AS "
                f"SELECT c.idx, l.line, c.{id_col} AS record_id, c.* EXCLUDE (idx) FROM ingest_indexed AS c "
                "JOIN ingest_lines AS l ON l.idx = c.idx")
