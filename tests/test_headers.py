"""Malformed headers and oversized records are refused with the reason, the name and the line.

DuckDB renames a repeated header (Status_1) and names an empty one (column8) before
the importer sees them, so each case here would have loaded silently (the first copy
winning, or a stray extra column); and a record over DuckDB's line limit used to be
reported as "a quote that is never closed".
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics.ingest.files import MAX_COLUMNS, MAX_RECORD_BYTES
from analytics.ingest.importer import ImportRefused, import_files
from analytics.ingest.profiles import load_profile
from analytics.store import Store

from tests.support import run_analytics

SESSION_HEADER = "session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,attended_minutes,status"
ENROLLMENT_HEADER = "episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks"

PROGRESS_LINE = re.compile(r"^\s*\d+\.\d%  ")  # the CLI's progress, e.g. '  0.0%  big.csv: reading'


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(str(tmp_path / "headers.duckdb"))
    import_files(s, [write(tmp_path / "enr.csv", ENROLLMENT_HEADER + "\nE1,P1,North,Adult IOP,2024-01-01,,,12\n")])
    yield s
    s.close()


def loaded(store: Store) -> tuple:
    with store.read() as cur:
        return cur.execute("SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM enrollments)").fetchone()


@pytest.mark.parametrize("header,named,columns", [
    (SESSION_HEADER + ",status", "status", (8, 9)),
    (SESSION_HEADER.replace("status", "Status") + ", STATUS ", "Status", (8, 9)),  # case and spaces ignored
    ("session_id,session_id," + SESSION_HEADER.removeprefix("session_id,"), "session_id", (1, 2)),
])
def test_a_repeated_header_is_refused_naming_it(store, tmp_path, header, named, columns):
    before = loaded(store)
    path = write(tmp_path / "dup.csv", header + "\n" + "S1,E1,2024-01-02,group,A,180,180,attended,no_show\n")
    with pytest.raises(ImportRefused) as refused:
        import_files(store, [path])
    assert f"the header '{named}' appears twice (columns {columns[0]} and {columns[1]}" in refused.value.problem
    assert loaded(store) == before
    with store.read() as cur:
        assert cur.execute("SELECT status, message FROM import_log ORDER BY batch_id DESC LIMIT 1").fetchone() == (
            "refused", refused.value.problem)


def test_a_repeated_enrollment_header_is_no_longer_kept_as_an_extra_column(store, tmp_path):
    path = write(tmp_path / "enr2.csv", ENROLLMENT_HEADER + ",site\nE2,P2,North,Adult IOP,2024-01-01,,,12,South\n")
    with pytest.raises(ImportRefused, match="the header 'site' appears twice"):
        import_files(store, [path])


def test_a_repeated_header_counts_even_when_the_profile_ignores_it(store, tmp_path):
    profile = write(tmp_path / "p.toml", 'name = "ignoring"\nignore = ["Notes"]\n')
    path = write(tmp_path / "s.csv", SESSION_HEADER + ",notes,NOTES\nS1,E1,2024-01-02,group,A,180,180,attended,a,b\n")
    with pytest.raises(ImportRefused, match="the header 'notes' appears twice .columns 9 and 10: 'notes' and 'NOTES'"):
        import_files(store, [path], profile=load_profile(profile))


def test_an_unnamed_column_is_left_out_when_empty_and_refused_when_it_holds_values(store, tmp_path):
    trailing = write(tmp_path / "trailing.csv", ENROLLMENT_HEADER + ",\nE2,P2,North,Adult IOP,2024-01-02,,,12,\n")
    result = import_files(store, [trailing]).files[0]
    assert (result.inserted, result.rejected) == (1, 0)
    with store.read() as cur:
        extra = cur.execute("SELECT extra FROM enrollments WHERE episode_id = 'E2'").fetchone()[0]
    assert extra == {}  # no stray 'column8'
    filled = write(tmp_path / "filled.csv", ENROLLMENT_HEADER + ",,payer\nE3,P3,North,Adult IOP,2024-01-02,,,12,x,\n")
    with pytest.raises(ImportRefused, match="column 9 has no header name but holds values"):
        import_files(store, [filled])


def test_a_field_over_the_limit_is_refused_with_its_line_not_as_a_quote_problem(store, tmp_path):
    before = loaded(store)
    field = "x" * 3_000_000
    line = f"S2,E1,2024-01-03,group,{field},180,180,attended"
    path = write(tmp_path / "big.csv", SESSION_HEADER + "\nS1,E1,2024-01-02,group,A,180,180,attended\n"
                 f"{line}\nS3,E1,2024-01-04,group,A,180,180,attended\n")
    done = run_analytics("ingest", "--db", str(tmp_path / "headers.duckdb"), str(path))
    assert done.returncode == 1
    # the reader may report its first progress line before the scan finds the long line
    errors = [line for line in done.stderr.strip().splitlines() if not PROGRESS_LINE.match(line)]
    assert errors == [
        f"error: {path}: line 3 is longer than the limit of {MAX_RECORD_BYTES:,} bytes for one record "
        f"({len(line):,} bytes): a field or line this long is not an export value "
        "(is the file damaged, or not an export?)"]
    assert "quote" not in done.stderr and field[:50] not in done.stderr
    assert loaded(store) == before


def test_a_record_over_the_limit_across_quoted_lines_is_refused_with_the_line_it_starts_on(store, tmp_path):
    field = '"' + ("y" * 999 + "\n") * 2500 + '"'  # every physical line short, the record 2.5 MB
    path = write(tmp_path / "bigq.csv", SESSION_HEADER + "\nS1,E1,2024-01-02,group,A,180,180,attended\n"
                 f"S2,E1,2024-01-03,group,{field},180,180,attended\n")
    with pytest.raises(ImportRefused) as refused:
        import_files(store, [path])
    assert refused.value.problem.startswith(f"line 3 is longer than the limit of {MAX_RECORD_BYTES:,} bytes")


def test_a_header_with_too_many_columns_is_refused(store, tmp_path):
    names = SESSION_HEADER + "," + ",".join(f"c{i}" for i in range(MAX_COLUMNS))
    path = write(tmp_path / "wide.csv", names + "\n")
    with pytest.raises(ImportRefused, match=f"its header has {MAX_COLUMNS + 8:,} columns; the limit is {MAX_COLUMNS:,}"):
        import_files(store, [path])


def test_a_million_columns_is_refused_as_an_oversized_line(store, tmp_path):
    path = write(tmp_path / "million.csv", ",".join(f"c{i}" for i in range(1_000_000)) + "\n")
    with pytest.raises(ImportRefused, match="line 1 is longer than the limit"):
        import_files(store, [path], kind="sessions")
