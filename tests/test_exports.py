"""What leaves the store: formula-safe CSV, suppressed exports, the audit trail, pseudonyms.

- safe_csv_bytes neutralises text cells that a spreadsheet would run as a formula,
  and leaves numbers (negative ones too) as numbers.
- export_table suppresses small cells before writing.
- Imports and exports write audit rows; directors read them with audit_rows().
- An import with a pseudonymisation key leaves the EHR's patient ids nowhere in the
  store, and errors and rejects never echo a patient id.
"""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from analytics.privacy import exports
from analytics.privacy.audit import audit_rows
from analytics.ingest.importer import ImportRefused, import_files
from analytics.ingest.pseudonyms import pseudonym
from analytics.store.schema import STORE_TABLES
from analytics.store import Store
from analytics.privacy.suppression import SuppressionSpec

# (cell as imported, cell as a spreadsheet must receive it)
CELLS = [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("+1+2", "'+1+2"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("  =cmd|' /C calc'!A0", "'  =cmd|' /C calc'!A0"),
    ("-3", "-3"),  # a number written as text stays a number
    ("+1.5e3", "+1.5e3"),
    ("North", "North"),
    ("a=b", "a=b"),
    ("<11", "<11"),
    ("", ""),
]


def read_back(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("cell, expected", CELLS)
def test_text_cells_that_start_a_formula_are_neutralised(cell, expected):
    rows = read_back(exports.safe_csv_bytes(pd.DataFrame({"clinician": [cell]})))
    assert rows == [["clinician"], [expected]]


def test_numbers_stay_numbers_and_headers_are_neutralised():
    df = pd.DataFrame({"=site": ["North"], "n": [-4], "rate": [-0.25], "count": pd.array([None], "Int64")})
    rows = read_back(exports.safe_csv_bytes(df))
    assert rows == [["'=site", "n", "rate", "count"], ["North", "-4", "-0.25", ""]]


def test_export_table_suppresses_then_neutralises():
    df = pd.DataFrame({"site": ["=evil()", "North", "South"], "episodes": [3, 40, 55]})
    rows = read_back(exports.export_table(df, SuppressionSpec(counts=("episodes",))))
    assert rows[0] == ["site", "episodes"]
    by_site = {r[0]: r[1] for r in rows[1:]}
    assert by_site["'=evil()"] == "<11"  # a count of 3 never leaves the room
    assert "3" not in by_site.values()


# -- audit ------------------------------------------------------------------------


def write_csv(path, header: str, rows: list[str]) -> str:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


ENROLL_HEADER = "episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks"
SESSION_HEADER = ("session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,"
                  "attended_minutes,status")


def test_import_and_export_write_audit_rows(store_file, tmp_path):
    enroll = write_csv(tmp_path / "enrollments.csv", ENROLL_HEADER,
                       ["E1,P1,North,Adult IOP,2024-01-02,,,8", "E2,P2,North,Adult IOP,2024-01-03,,,8"])
    import_files(store_file, [enroll], actor="dana@example.org")
    table = pd.DataFrame({"site": ["North"], "episodes": [2]})
    data = exports.audited(store_file, "ana@example.org", "export",
                           {"table": "retention", "filters": [["Sites", "North"]]},
                           lambda: exports.export_table(table, SuppressionSpec(counts=("episodes",))))
    assert read_back(data)[1] == ["North", "<11"]
    with store_file.read() as cur:
        rows = audit_rows(cur, 10)
    assert list(rows["action"]) == ["export", "import"]  # newest first
    export, imported = (json.loads(d) for d in rows["detail"])
    assert rows["actor"].tolist() == ["ana@example.org", "dana@example.org"]
    assert export["table"] == "retention" and export["filters"] == [["Sites", "North"]]
    assert export["bytes"] == len(data)
    assert "sha256" in json.dumps(imported) and "enrollments.csv" in json.dumps(imported)
    assert rows["logged_at"].notna().all()


def test_a_failing_export_writes_no_audit_row_and_hands_out_nothing(store_file):
    def broken() -> bytes:
        raise RuntimeError("query failed")

    with pytest.raises(RuntimeError):
        exports.audited(store_file, "ana@example.org", "export", {"table": "x"}, broken)
    with store_file.read() as cur:
        assert audit_rows(cur, 10).empty


# -- pseudonyms and PHI in errors ---------------------------------------------------

RAW_IDS = ("MRN-771204", "MRN-884511", "MRN-990017")
KEY = b"k" * 40


def everything_in_store(store: Store) -> str:
    """Every value of every store table as one string (each row cast to text)."""
    parts = []
    with store.read() as cur:
        for table in STORE_TABLES:
            parts += [r[0] for r in cur.execute(f"SELECT CAST(t AS VARCHAR) FROM main.{table} AS t").fetchall()]
    return "\n".join(parts)


def test_pseudonymised_import_keeps_no_raw_patient_id_anywhere(store_file, tmp_path):
    a, b, c = RAW_IDS
    enroll = write_csv(tmp_path / "enrollments.csv", ENROLL_HEADER, [
        f"E1,{a},North,Adult IOP,2024-01-02,2024-02-01,completed,8",
        f"E2,{a},North,Adult IOP,2024-03-02,,,8",               # a readmission: same patient
        f"E3,{b},North,Adult IOP,not-a-date,,,8",               # rejected: bad date
        f"E4,{c},North,Adult IOP,2024-01-05,2023-12-01,completed,8",  # rejected: discharge before admit
        f"E5,{c},North,Adult IOP,2024-01-05",                   # rejected: too few fields
        f"E1,{b},North,Adult IOP,2024-01-02,2024-02-01,completed,8",  # rejected: duplicate id, other content
    ])
    import_files(store_file, [enroll], actor="dana@example.org", pseudonymise_key=KEY)
    text = everything_in_store(store_file)
    assert not [raw for raw in RAW_IDS if raw in text]
    assert "(hidden:" in text  # the ragged line was kept as a reject, masked
    with store_file.read() as cur:
        stored = cur.execute("SELECT DISTINCT patient_id FROM main.enrollments").fetchall()
    assert stored == [(pseudonym(KEY, a),)]  # both episodes of one patient share a pseudonym


def test_without_a_key_the_same_check_finds_the_ids(store_file, tmp_path):
    """The search above can fail: without pseudonymisation the raw id is in the store."""
    enroll = write_csv(tmp_path / "enrollments.csv", ENROLL_HEADER,
                       [f"E1,{RAW_IDS[0]},North,Adult IOP,2024-01-02,,,8"])
    import_files(store_file, [enroll], actor="dana@example.org")
    assert RAW_IDS[0] in everything_in_store(store_file)


def test_refused_files_and_rejects_never_echo_a_patient_id(store_file, tmp_path):
    raw = RAW_IDS[1]
    missing_column = write_csv(tmp_path / "no_site.csv", "episode_id,patient_id,program,admit_date",
                               [f"E9,{raw},Adult IOP,2024-01-02"])
    with pytest.raises(ImportRefused) as refused:
        import_files(store_file, [missing_column], kind="enrollments", actor="dana@example.org")
    assert raw not in str(refused.value) and "no_site.csv" in str(refused.value)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((ENROLL_HEADER + f"\nE9,{raw},Zoë,Adult IOP,2024-01-02,,,8\n").encode("latin-1"))
    with pytest.raises(ImportRefused) as refused:
        import_files(store_file, [latin1], actor="dana@example.org")
    assert raw not in str(refused.value)
    bad_rows = write_csv(tmp_path / "enrollments.csv", ENROLL_HEADER,
                         [f"E9,{raw},North,Adult IOP,2024-13-45,,,8", f"E10,{raw},North,Adult IOP,2024-01-02"])
    import_files(store_file, [bad_rows], actor="dana@example.org")
    with store_file.read() as cur:
        rejects = cur.execute("SELECT CAST(r AS VARCHAR) FROM main.rejects AS r").fetchall()
        log = cur.execute("SELECT CAST(l AS VARCHAR) FROM main.import_log AS l").fetchall()
    assert len(rejects) == 2
    assert raw not in str(rejects) and raw not in str(log)
