"""Mapping profiles: the canonical one, the shipped example for a differently shaped export, and refusals.

Expected values are read off the fixture files by hand (tests/fixtures/ingest/example_ehr).
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from analytics.ingest.importer import ImportRefused, import_files
from analytics.ingest.profiles import CANONICAL_PROFILE, PROFILES_DIR, ProfileError, load_profile
from analytics.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
EXAMPLE = PROFILES_DIR / "example_ehr.toml"


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(str(tmp_path / "profiles.duckdb"))
    yield s
    s.close()


def test_canonical_profile_is_the_default_and_maps_canonical_names():
    profile = load_profile()
    assert profile.source == str(CANONICAL_PROFILE)
    assert profile.date_formats == ("%Y-%m-%d",)
    assert profile.canonical_column("sessions", "Session_ID ") == "session_id"
    assert profile.canonical_column("enrollments", "payer") is None  # an extra column
    keys, values = profile.label_map("status")
    assert dict(zip(keys, values))["no_show"] == "no_show"


def test_canonical_profile_imports_the_canonical_fixture(store):
    result = import_files(store, [FIXTURES / "base_enrollments.csv"], profile=CANONICAL_PROFILE)
    assert [(f.kind, f.rows, f.inserted, f.rejected) for f in result.files] == [("enrollments", 3, 3, 0)]


def test_example_profile_reads_a_differently_shaped_export(store):
    result = import_files(
        store,
        [FIXTURES / "example_ehr" / "appointments.csv", FIXTURES / "example_ehr" / "admissions.csv"],
        profile=EXAMPLE,
    )
    counts = {f.kind: (f.rows, f.inserted, f.rejected) for f in result.files}
    # A-103 is discharged before admission; V-8's ISO date is not one of the profile's
    # formats; V-9's "Late Cancel" is not a label the profile knows
    assert counts == {"enrollments": (4, 3, 1), "sessions": (9, 7, 2)}
    with store.read() as cur:
        enrollments = {r[0]: r[1:] for r in cur.execute(
            "SELECT episode_id, patient_id, site, admit_date, discharge_date, discharge_reason, planned_weeks, "
            "extra FROM enrollments").fetchall()}
        sessions = {r[0]: r[1:] for r in cur.execute(
            "SELECT session_id, episode_id, session_date, session_type, clinician, scheduled_minutes, "
            "attended_minutes, status FROM sessions").fetchall()}
        rejects = {r[0]: json.loads(r[1]) for r in cur.execute(
            "SELECT record_id, to_json(problems) FROM rejects").fetchall()}
    assert enrollments["A-101"] == ("C-9002", "Riverside", date(2024, 1, 15), date(2024, 2, 2),
                                    "dropped_out", 12, {"Payer": "Commercial"})  # Client Name is ignored
    assert enrollments["A-102"][2:4] == (date(2024, 2, 5), None)  # 2/5/24 through the second format
    assert sessions["V-1"] == ("A-100", date(2024, 1, 8), "individual", "Staff Q", 60, 60, "attended")
    assert sessions["V-3"][-1] == "no_show"
    assert sessions["V-4"][-1] == "patient_cancelled"
    assert sessions["V-6"][-1] == "program_cancelled"
    assert sessions["V-7"][2] == "Case Management"  # other types are kept as given
    assert rejects["V-8"] == [{"column": "session_date", "raw_value": "2024-02-07",
                               "reason": "bad date: not a date in the expected format (%m/%d/%y or %m/%d/%Y)"}]
    assert rejects["A-103"][0]["reason"].startswith("discharge before admission")
    assert rejects["V-9"][0]["column"] == "status"


def test_windows_1252_export_loads_through_its_profile_and_is_refused_without_it(store, tmp_path):
    text = ("episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks\n"
            "E1,P1,Café Señora,Adult IOP,2024-01-01,,,8\n")
    path = tmp_path / "cp1252.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(ImportRefused, match="cannot be read as utf-8 text"):
        import_files(store, [path])
    profile = tmp_path / "cp1252.toml"
    profile.write_text('name = "cp1252 export"\nencoding = "windows-1252"\n')
    result = import_files(store, [path], profile=profile)
    assert result.files[0].inserted == 1
    with store.read() as cur:
        assert cur.execute("SELECT site FROM enrollments").fetchone()[0] == "Café Señora"


def test_xlsx_export_loads_with_excel_dates_sheet_rows_as_lines_and_empty_rows_skipped(store, tmp_path):
    path = tmp_path / "sessions.xlsx"
    import_files(store, [FIXTURES / "base_enrollments.csv"])
    con = duckdb.connect()
    from analytics.store.extensions import load_extensions

    load_extensions(con, ("excel",))
    # real date cells (Excel serial numbers) and numbers, as an EHR's workbook has them
    con.execute(f"""COPY (SELECT * FROM (VALUES
        ('X1', 'E1', DATE '2024-01-02', 'group', 'A', 180, 180, 'attended'),
        ('X2', 'E1', DATE '2024-01-03', 'group', 'A', 180, 0, 'no_show'),
        (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        ('X3', 'E1', DATE '2024-01-04', 'group', 'A', 180, 30, 'no_show'))
        AS t(session_id, episode_id, session_date, session_type, clinician, scheduled_minutes,
             attended_minutes, status)) TO '{path}' (FORMAT xlsx, HEADER true)""")
    result = import_files(store, [path]).files[0]
    assert (result.kind, result.rows, result.inserted, result.rejected) == ("sessions", 3, 2, 1)
    with store.read() as cur:
        assert cur.execute("SELECT session_date FROM sessions WHERE session_id = 'X2'").fetchone()[0] == date(2024, 1, 3)
        # the empty sheet row 4 is not a record; X3 is on sheet row 5
        assert cur.execute("SELECT line, record_id FROM rejects").fetchall() == [(5, "X3")]


@pytest.mark.parametrize("body, words", [
    ('kind = "visits"', "kind must be one of"),
    ('encoding = "ebcdic"', "encoding must be one of"),
    ('date_format = "YYYY-MM-DD"', "strftime format"),
    ('[columns.sessions]\n"Visit" = "visit_id"', "not a sessions column"),
    ('[columns.sessions]\n"A" = "session_id"\n"B" = "session_id"', "several headers to session_id"),
    ('[labels.status]\n"Here" = "present"', "not one of attended"),
    ('colour = "blue"', "unknown setting"),
    ('name = ', "not valid TOML"),
])
def test_bad_profiles_are_refused_with_their_file_and_problem(tmp_path, body, words):
    path = tmp_path / "bad.toml"
    path.write_text(body + "\n")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert str(error.value).startswith(f"profile {path}: ")
    assert words in str(error.value)


def test_example_profile_reads_an_assessments_export_with_its_own_instrument_names(store):
    result = import_files(store, [FIXTURES / "example_ehr" / "measures.csv", FIXTURES / "example_ehr" / "admissions.csv"],
                          profile=EXAMPLE)
    # M-5's AUDIT-C is not a configured instrument; M-6 is 45 days before A-101's admission
    assert [(f.kind, f.rows, f.inserted, f.rejected) for f in result.files] == [
        ("enrollments", 4, 3, 1), ("assessments", 6, 4, 2)]
    with store.read() as cur:
        scores = cur.execute("SELECT assessment_id, episode_id, assessment_date, instrument, score "
                             "FROM assessments ORDER BY 1").fetchall()
        rejects = dict(cur.execute("SELECT record_id, problems[1].reason FROM rejects "
                                   "WHERE kind = 'assessments'").fetchall())
    assert scores == [("M-1", "A-100", date(2024, 1, 8), "phq9", 18), ("M-2", "A-100", date(2024, 1, 22), "phq9", 12),
                      ("M-3", "A-100", date(2024, 1, 8), "gad7", 11), ("M-4", "A-100", date(2024, 1, 15), "uds", 0)]
    assert rejects["M-5"].startswith("unknown instrument")
    assert rejects["M-6"].startswith("assessment more than 30 days before")


@pytest.mark.parametrize("body, words", [
    ('[fhir]\ncolour = "blue"', "[fhir]: unknown setting"),
    ('[fhir]\npatient_identifier_system = ""', "patient_identifier_system must be"),
    ('[[fhir.codes]]\nsystem = "s"\ncode = "c"', "needs system, code and instrument"),
    ('[[fhir.codes]]\nsystem = "s"\ncode = "c"\ninstrument = "phq9"\n[[fhir.codes]]\nsystem = "s"\ncode = "c"\n'
     'instrument = "gad7"', "maps s|c to two instruments"),
    ('file_type = "json"', "file_type must be one of csv, xlsx, ndjson"),
])
def test_bad_fhir_settings_are_refused_with_their_file_and_problem(tmp_path, body, words):
    path = tmp_path / "bad.toml"
    path.write_text(body + "\n")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert str(error.value).startswith(f"profile {path}: ")
    assert words in str(error.value)
