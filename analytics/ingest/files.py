"""A file's bytes before DuckDB reads it: the checks on its first bytes, the facts about
all of them (sha256, line count, blank lines), and the refusals of a whole file.

>>> scan = scan_file(Path("sessions.csv"), "sessions.csv", load_profile(None), pool)
>>> scan.file_type, scan.physical_lines   # the second waits for the byte scan
"""
from __future__ import annotations

import csv
import hashlib
import os
import sys
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analytics.ingest.profiles import Profile

_XLSX_MAGIC = b"PK\x03\x04"
_SCAN_CHUNK = 1 << 22
# The longest record (one line, or a record whose quoted fields span lines) an export
# may hold: DuckDB's own default line limit, 2,000,000 bytes. No field of an EHR export
# comes near it; a file that does is not an export (or is damaged), and is refused
# naming the line, rather than as "a quote that is never closed".
MAX_RECORD_BYTES = 2_000_000
# The most columns a header may have (an export has tens); more is refused before reading.
MAX_COLUMNS = 1000


class ImportRefused(Exception):
    """A whole file could not be imported; str() is one line naming the file and the problem."""

    def __init__(self, file: str, problem: str, sha256: str | None = None, kind: str | None = None):
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem
        self.sha256 = sha256
        self.kind = kind


@dataclass(frozen=True)
class ByteFacts:
    sha256: str
    physical_lines: int
    blank_lines: bool
    # (line number, bytes) of the first line longer than MAX_RECORD_BYTES, if any
    long_line: tuple[int, int] | None = None


@dataclass(frozen=True)
class Scan:
    """A file that passed the checks on its first bytes; the facts about all of them may follow.

    The hash and line count take one pass over every byte (about 1 s for a 650 MB
    export), so they run in a thread while DuckDB reads the file, and reading
    sha256, physical_lines or blank_lines waits for them.
    """
    path: Path
    label: str  # the file as the user named it, for messages
    size: int
    file_type: str  # csv | xlsx | ndjson
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

    @property
    def long_line(self) -> tuple[int, int] | None:
        return self.facts.result().long_line


def has_blank_line(data: np.ndarray, breaks: np.ndarray) -> bool:
    """Whether two line breaks in data follow each other, or have only a CR between them.

    >>> b = b"a\\n\\r\\nb"; a = np.frombuffer(b, np.uint8); has_blank_line(a, np.flatnonzero(a == 10))
    True
    """
    gaps = np.diff(breaks)
    return bool(np.any(gaps == 1)) or bool(np.any(data[breaks[:-1][gaps == 2] + 1] == 13))


def byte_facts(path: Path) -> ByteFacts:
    """Hash, count lines and look for blank lines in one pass over a file's bytes.

    hashlib and numpy release the GIL on large buffers, so this runs beside DuckDB.
    """
    digest = hashlib.sha256()
    newlines = 0
    blank = False
    tail = b"\n"  # a file that starts with a newline starts with a blank line
    offset = 0  # of the chunk in the file
    last_break = -1  # offset in the file of the last line break seen
    long_line = None
    with open(path, "rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            digest.update(chunk)
            # numpy finds the line breaks several times faster than bytes.count and
            # `in` (benchmarks/README.md, import steps)
            data = np.frombuffer(chunk, np.uint8)
            breaks = np.flatnonzero(data == 10)
            if long_line is None and len(breaks):
                # each line's length, the first one's counted from the break before the chunk
                lengths = np.diff(np.concatenate(([last_break], breaks + offset))) - 1
                over = np.flatnonzero(lengths > MAX_RECORD_BYTES)
                if len(over):
                    long_line = (newlines + int(over[0]) + 1, int(lengths[over[0]]))
            if len(breaks):
                last_break = offset + int(breaks[-1])
            newlines += len(breaks)
            if not blank:
                # within the chunk, then the seam with the previous chunk's last bytes
                seam = tail + chunk[:2]
                blank = has_blank_line(data, breaks) or b"\n\n" in seam or b"\n\r\n" in seam
            tail = (tail + chunk)[-2:] if len(chunk) < 2 else chunk[-2:]
            offset += len(chunk)
    if long_line is None and offset - last_break - 1 > MAX_RECORD_BYTES:
        long_line = (newlines + 1, offset - last_break - 1)  # the last line, with no break after it
    lines = newlines + (0 if tail.endswith(b"\n") else 1)
    return ByteFacts(digest.hexdigest(), lines, blank, long_line)


def scan_file(path: Path, label: str, profile: Profile, pool: Executor) -> Scan:
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
    file_type = profile.file_type or ("xlsx" if is_zip else "ndjson" if _looks_like_ndjson(path, head) else "csv")
    # A refusal below reads scan.sha256 for the import log, so it waits for the hash.
    scan = Scan(path, label, size, file_type, pool.submit(byte_facts, path))
    body = head.removeprefix(b"\xef\xbb\xbf")
    if not body.strip():
        raise ImportRefused(label, "the file is empty", scan.sha256)
    if file_type == "xlsx" and not is_zip:
        raise ImportRefused(label, "not an .xlsx workbook, but the profile says xlsx", scan.sha256)
    if file_type == "csv" and (is_zip or b"\x00" in head) and profile.encoding != "utf-16":
        raise ImportRefused(label, "not a CSV or XLSX file (it holds binary data)", scan.sha256)
    if file_type == "ndjson" and (is_zip or b"\x00" in head):
        raise ImportRefused(label, "not an ndjson file (it holds binary data)", scan.sha256)
    if file_type == "csv" and profile.duckdb_encoding == "utf-8":
        # The reader would take a header it cannot decode as a bad record and use
        # the next line as the header, so the start of the file is checked here.
        whole = head[: head.rfind(b"\n") + 1] if len(head) == 65536 and b"\n" in head else head
        try:
            whole.decode("utf-8")
        except UnicodeDecodeError:
            raise encoding_refusal(scan, profile) from None
    return scan


# FHIR Bulk Data files are named after their resource type, e.g. Observation.ndjson.
NDJSON_SUFFIXES = (".ndjson", ".jsonl")


def _looks_like_ndjson(path: Path, head: bytes) -> bool:
    """An ndjson file: so named, or its first text is a JSON object (no CSV header starts with '{')."""
    return path.suffix.lower() in NDJSON_SUFFIXES or head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")


def encoding_refusal(scan: Scan, profile: Profile, kind: str | None = None) -> ImportRefused:
    """The refusal of a file whose bytes are not text in the profile's encoding."""
    return ImportRefused(
        scan.label,
        f"cannot be read as {profile.encoding} text; set the file's encoding in its profile "
        "(e.g. encoding = \"windows-1252\")",
        scan.sha256, kind,
    )


def oversized_refusal(scan: Scan, line: int | None, length: int | None, kind: str | None = None) -> ImportRefused:
    """The refusal of a file with a record over MAX_RECORD_BYTES, naming its line."""
    where = f"line {line}" if line is not None else "a record"
    size = f" ({length:,} bytes)" if length is not None else ""
    return ImportRefused(
        scan.label,
        f"{where} is longer than the limit of {MAX_RECORD_BYTES:,} bytes for one record{size}: "
        "a field or line this long is not an export value (is the file damaged, or not an export?)",
        scan.sha256, kind)


def read_error(scan: Scan, profile: Profile, exc: Exception) -> ImportRefused:
    """The refusal of a file DuckDB's reader failed on, from the reader's error.

    DuckDB's message may quote the line, so only its kind is used, never its text.
    """
    text = str(exc).lower()
    if scan.file_type == "csv" and scan.long_line is not None:
        return oversized_refusal(scan, *scan.long_line)
    if "maximum line size of" in text and scan.file_type == "csv":
        return oversized_refusal(scan, *first_long_record(scan, profile))
    if "invalid unicode" in text or "byte sequence" in text or "not utf-8 encoded" in text:
        return encoding_refusal(scan, profile)
    if scan.file_type == "xlsx":
        problem = "cannot be read as an .xlsx workbook"
    elif scan.file_type == "ndjson":
        problem = "cannot be read as ndjson (FHIR Bulk Data: one JSON resource per line)"
    else:
        problem = (f"cannot be read as a CSV file (a quote that is never closed, or not delimiter "
                   f"{profile.delimiter!r} and quote {profile.quote!r} as the profile says)")
    return ImportRefused(scan.label, problem, scan.sha256)


def first_long_record(scan: Scan, profile: Profile) -> tuple[int | None, int | None]:
    """(line where it starts, bytes) of the first record over MAX_RECORD_BYTES, else (None, None).

    For a record whose quoted fields span many short lines, which the byte scan
    cannot see; runs only after DuckDB's reader met one. Python's csv module
    splits records as DuckDB does (see lines.record_starts).
    """
    encoding = "utf-8-sig" if profile.duckdb_encoding == "utf-8" else profile.encoding
    offsets = [0]

    def text_lines():
        with open(scan.path, "rb") as handle:
            for raw in handle:
                offsets.append(offsets[-1] + len(raw))
                yield raw.decode(encoding, errors="replace")

    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)  # the record is read whole to be measured
    try:
        reader = csv.reader(text_lines(), delimiter=profile.delimiter, quotechar=profile.quote,
                            doublequote=profile.escape == profile.quote,
                            escapechar=None if profile.escape == profile.quote else profile.escape, strict=False)
        previous = 0
        for _ in reader:
            length = offsets[reader.line_num] - offsets[previous]
            if length > MAX_RECORD_BYTES:
                return previous + 1, length
            previous = reader.line_num
    except csv.Error:
        pass
    finally:
        csv.field_size_limit(limit)
    return None, None
