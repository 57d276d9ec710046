"""The malformed-file corpus: every file's rows are loaded or rejected with the right reasons and lines.

Driven by fixture files: tests/fixtures/ingest/malformed/NAME.csv (or NAME.ndjson, a
FHIR Bulk Data file) holds a file, NAME.toml what must come of it. Adding a case means
adding two files. Rows read are counted independently: with Python's csv module, and
for ndjson as the lines that are not blank. A case may name fixture files imported
before it (`before`), and the skipped and removed counts of a FHIR file.
"""
from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest

from analytics.ingest.importer import ImportRefused, import_files
from analytics.store import Store
from analytics.store.schema import KINDS

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
MALFORMED = sorted([*(FIXTURES / "malformed").glob("*.csv"), *(FIXTURES / "malformed").glob("*.ndjson")])
REFUSED = tomllib.loads((FIXTURES / "refused" / "refused.toml").read_text())


def csv_records(path: Path) -> list[list[str]]:
    """The file's data records as Python's csv module reads them (blank lines skipped)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        records = [r for r in csv.reader(handle) if r]
    return records[1:]


def records_read(path: Path) -> int:
    """How many records a file holds: CSV records after the header, or ndjson lines that are not blank."""
    if path.suffix == ".ndjson":
        return sum(1 for line in path.read_bytes().split(b"\n") if line.strip(b" \t\r\x0b\x0c"))
    return len(csv_records(path))


@pytest.fixture
def base_store(tmp_path) -> Store:
    store = Store(str(tmp_path / "corpus.duckdb"))
    import_files(store, [FIXTURES / "base_enrollments.csv"])
    yield store
    store.close()


def rejects_of(store: Store, file: str) -> list[dict]:
    with store.read() as cur:
        rows = cur.execute(
            "SELECT line, record_id, to_json(problems) FROM rejects WHERE file = $file ORDER BY line",
            {"file": file},
        ).fetchall()
    return [{"line": line, "record_id": rid, "problems": json.loads(p)} for line, rid, p in rows]


@pytest.mark.parametrize("path", MALFORMED, ids=[p.stem for p in MALFORMED])
def test_every_row_is_loaded_or_rejected_with_its_reasons(base_store, path):
    expected = tomllib.loads(path.with_suffix(".toml").read_text())
    for earlier in expected.get("before", []):
        import_files(base_store, [FIXTURES / earlier])
    result = import_files(base_store, [path]).files[0]

    read = records_read(path)
    assert result.rows == expected["rows"] == read
    assert result.kind == expected["kind"]
    assert result.inserted == expected["inserted"]
    assert result.unchanged == expected.get("unchanged", 0)
    assert result.updated == 0
    fhir = path.suffix == ".ndjson"
    assert result.skipped == (expected.get("skipped", 0) if fhir else None)
    assert result.removed == (expected.get("removed", 0) if fhir else None)
    assert result.inserted + result.updated + result.unchanged + result.rejected + (result.skipped or 0) == read
    rejects = rejects_of(base_store, path.name)
    assert result.rejected == len(rejects) == len(expected.get("rejected", []))

    with base_store.read() as cur:
        loaded = cur.execute(f"SELECT count(*) FROM {expected['kind']} WHERE batch_id = "
                             "(SELECT max(batch_id) FROM import_log)").fetchone()[0]
    assert loaded == result.inserted

    for want, got in zip(expected.get("rejected", []), rejects):
        assert got["line"] == want["line"], got
        assert len(got["problems"]) == len(want["reasons"]), got
        for (column, words), problem in zip(want["reasons"], got["problems"]):
            assert problem["column"] == column, got
            assert words in problem["reason"], got


@pytest.mark.parametrize(
    "path", [p for p in MALFORMED if p.stem.startswith(("enrollments", "referrals"))],
    ids=lambda p: p.stem,
)
def test_rejects_never_hold_patient_ids_or_free_text(base_store, path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header, *records = [r for r in csv.reader(handle) if r]
    kind = tomllib.loads(path.with_suffix(".toml").read_text())["kind"]
    canonical = {c.name for c in KINDS[kind].columns if not c.free_text}
    secret_columns = [i for i, h in enumerate(header) if h not in canonical]  # patient_id and extras
    secrets = {r[i] for r in records for i in secret_columns if i < len(r) and r[i]}
    assert secrets
    import_files(base_store, [path])
    with base_store.read() as cur:
        text = " ".join(str(r) for r in cur.execute("SELECT * FROM rejects").fetchall())
    leaked = {s for s in secrets if s in text}
    assert not leaked


def test_multiline_records_keep_their_text_and_physical_line(base_store):
    path = FIXTURES / "malformed" / "sessions_multiline_crlf_bom.csv"
    import_files(base_store, [path])
    with base_store.read() as cur:
        rows = dict(cur.execute(
            "SELECT session_id, (clinician, source_line) FROM sessions WHERE session_id LIKE 'S4%'").fetchall())
    assert rows["S41"] == ("Clinician A, MSW", 2)
    assert rows["S42"] == ("Clinician\r\nwith a line break", 3)
    assert rows["S44"] == ('say "hi"', 9)
    assert rows["S48"] == ("Clinician A", 14)
    assert rows["S49"] == ('Clinician O"Brien', 15)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unreadable_files_are_refused_and_change_nothing(base_store, name, capsys):
    path = FIXTURES / "refused" / name
    with base_store.read() as cur:
        before = cur.execute("SELECT (SELECT count(*) FROM enrollments), (SELECT count(*) FROM rejects)").fetchone()
    good = FIXTURES / "malformed" / "sessions_episodes.csv"
    with pytest.raises(ImportRefused) as refused:
        import_files(base_store, [good, path])  # a refused file takes its whole command down
    message = str(refused.value)
    assert message.startswith(f"{path}: ")
    assert REFUSED[name] in message
    assert "\n" not in message
    with base_store.read() as cur:
        after = cur.execute("SELECT (SELECT count(*) FROM enrollments), (SELECT count(*) FROM rejects)").fetchone()
        sessions = cur.execute("SELECT count(*) FROM sessions").fetchone()[0]
        log = cur.execute("SELECT file, status, message FROM import_log ORDER BY batch_id DESC LIMIT 1").fetchone()
    assert after == before and sessions == 0
    assert log == (name, "refused", refused.value.problem)


def test_every_reject_reason_the_row_checks_give_is_in_the_docs():
    """docs/data-format.md lists every reason a row can be rejected for (up to its details)."""
    import re

    from analytics.store import SQL_DIR

    docs = (Path(__file__).parent.parent / "docs" / "data-format.md").read_text()
    reasons = [
        (path.name, reason.replace("''", "'"))
        for path in sorted((SQL_DIR / "ingest").glob("*.sql"))
        for reason in re.findall(r"'reason':\s*'((?:[^']|'')*)'", path.read_text())
    ]
    assert len(reasons) > 20
    undocumented = []
    for name, reason in reasons:
        generic = re.sub(r"^missing; \w+ is required(?=$| \()", "missing; <column> is required", reason)
        head = re.split(r" \(|: this|; expected", generic)[0].strip()  # before the row's own details
        if head not in docs:
            undocumented.append((name, reason))
    assert undocumented == []
