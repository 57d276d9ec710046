"""Importing assessment scores from CSV: values, detection, upserts, the instruments in force,
profiles, whole commands, and the store's record of pseudonymised patient ids.

Reject reasons of single rows are in the corpus (tests/fixtures/ingest/malformed/assessments_*).
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from analytics.ingest.importer import FileResult, ImportRefused, import_files
from analytics.ingest.profiles import ProfileError
from analytics.ingest.pseudonyms import key_check
from analytics.instruments import InstrumentError, configured_instruments
from analytics.store import Store, get_meta
from analytics.store.instruments import stored_instruments
from tests.conftest import add_enrollments
from tests.support import run_analytics

ENROLLMENT_HEADER = "episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks"
SESSION_HEADER = "session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,attended_minutes,status"
ASSESSMENT_HEADER = "assessment_id,episode_id,assessment_date,instrument,score"
KEY = b"k" * 40


def write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join((header,) + rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def enrollments(tmp_path) -> Path:
    return write(tmp_path / "enrollments.csv", ENROLLMENT_HEADER,
                 "E1,P1,North,Adult IOP,2024-01-01,2024-03-01,completed,12",
                 "E2,P2,South,Adult IOP,2024-01-08,,,8")


@pytest.fixture
def scores(tmp_path) -> Path:
    return write(tmp_path / "scores.csv", ASSESSMENT_HEADER + ",clinician",
                 "A1,E1,2023-12-20,phq9,16,Dr A",  # intake screening before admission
                 "A2,E1,2024-01-15,PHQ9,11,Dr A",
                 "A3,E2,2024-01-09,uds,1,")


def assessments(store: Store) -> list[tuple]:
    with store.read() as cur:
        return cur.execute("SELECT * EXCLUDE (batch_id) FROM assessments ORDER BY assessment_id").fetchall()


def test_scores_load_with_typed_values_and_other_columns_ignored(tmp_path, enrollments, scores):
    store = Store(str(tmp_path / "a.duckdb"))
    result = import_files(store, [scores, enrollments])  # detected by its headers; applied after enrollments
    assert result.files == (FileResult("enrollments.csv", "enrollments", 2, 2, 0, 0, 0),
                            FileResult("scores.csv", "assessments", 3, 3, 0, 0, 0))
    assert assessments(store) == [("A1", "E1", date(2023, 12, 20), "phq9", 16, 2),
                                  ("A2", "E1", date(2024, 1, 15), "phq9", 11, 3),
                                  ("A3", "E2", date(2024, 1, 9), "uds", 1, 4)]
    store.close()


def test_an_assessments_file_is_detected_by_its_id_column_and_two_kinds_are_refused_by_name(tmp_path):
    store = Store(str(tmp_path / "a.duckdb"))
    both = write(tmp_path / "both.csv", ASSESSMENT_HEADER + ",session_id", "A1,E1,2024-01-02,phq9,3,S1")
    with pytest.raises(ImportRefused, match=r"fit more than one kind of export \(sessions and assessments\)"):
        import_files(store, [both])
    # an assessment export that also carries admission dates is still assessments
    dated = write(tmp_path / "dated.csv", ASSESSMENT_HEADER + ",admit_date", "A1,E1,2024-01-02,phq9,3,2024-01-01")
    result = import_files(store, [dated]).files[0]
    assert (result.kind, result.rejected) == ("assessments", 1)  # E1 is not in the store
    with pytest.raises(ImportRefused, match="required columns missing for assessments: instrument, score"):
        import_files(store, [write(tmp_path / "short.csv", "assessment_id,episode_id,assessment_date", "A1,E1,x")],
                     kind="assessments")
    store.close()


def test_a_newer_export_updates_by_id_the_latest_import_wins_and_repeats_change_nothing(store, tmp_path,
                                                                                     enrollments, scores):
    import_files(store, [enrollments, scores])
    newer = write(tmp_path / "newer.csv", ASSESSMENT_HEADER,
                  "A2,E1,2024-01-15,phq9,9",  # a corrected score
                  "A3,E2,2024-01-09,uds,1",  # as before
                  "A4,E2,2024-01-16,uds,0")  # new
    changed = import_files(store, [newer]).files[0]
    assert (changed.inserted, changed.updated, changed.unchanged, changed.rejected) == (1, 1, 1, 0)
    again = import_files(store, [newer]).files[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    with store.read() as cur:
        rows = cur.execute("SELECT assessment_id, score FROM assessments ORDER BY 1").fetchall()
    assert rows == [("A1", 16), ("A2", 9), ("A3", 1), ("A4", 0)]
    older = import_files(store, [scores]).files[0]  # the older export imported again is the latest now
    assert (older.updated, older.unchanged) == (1, 2)
    with store.read() as cur:
        assert cur.execute("SELECT score FROM assessments WHERE assessment_id = 'A2'").fetchone()[0] == 11


def test_every_command_writes_the_instruments_in_force_and_a_changed_config_takes_effect(tmp_path, monkeypatch,
                                                                                        enrollments):
    store = Store(str(tmp_path / "a.duckdb"))
    import_files(store, [enrollments])  # no scores: the definitions are written all the same
    with store.read() as cur:
        assert stored_instruments(cur) == tuple(sorted(configured_instruments(), key=lambda i: i.name))
    wide = write(tmp_path / "wide.csv", ASSESSMENT_HEADER, "A1,E1,2024-01-10,uds,2", "A2,E1,2024-01-10,audit_c,5")
    assert import_files(store, [wide]).files[0].rejected == 2
    site = tmp_path / "site.toml"
    site.write_text('[instruments.uds]\nlabel = "Drug screen (0 to 2)"\nmin = 0\nmax = 2\nhigher_is = "worse"\n'
                    'every_days = 7\n[instruments.audit_c]\nlabel = "AUDIT-C"\nmin = 0\nmax = 12\n'
                    'higher_is = "worse"\nevery_days = 30\n')
    monkeypatch.setenv("IOP_INSTRUMENTS", str(site))
    result = import_files(store, [wide]).files[0]
    assert (result.inserted, result.rejected) == (2, 0)
    with store.read() as cur:
        held = {i.name: i for i in stored_instruments(cur)}
    assert held["uds"].max_score == 2 and "audit_c" in held
    store.close()


def test_an_instruments_file_that_cannot_be_used_stops_the_command_with_its_message(tmp_path, monkeypatch,
                                                                                   enrollments):
    site = tmp_path / "site.toml"
    site.write_text('[instruments.uds]\nlabel = "x"\nmin = 0\nmax = 1\nhigher_is = "up"\nevery_days = 7\n')
    monkeypatch.setenv("IOP_INSTRUMENTS", str(site))
    store = Store(str(tmp_path / "a.duckdb"))
    with pytest.raises(InstrumentError, match="instruments.uds: higher_is must be"):
        import_files(store, [enrollments])
    assert not store.exists()
    done = run_analytics("ingest", "--db", str(tmp_path / "cli.duckdb"), str(enrollments),
                         env={"IOP_INSTRUMENTS": str(site)})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: {site}: instruments.uds: higher_is must be \"worse\" or \"better\""


def test_a_profile_maps_instrument_names_and_its_targets_are_checked(tmp_path, enrollments):
    profile = tmp_path / "ehr.toml"
    profile.write_text('[columns.assessments]\n"Measure ID" = "assessment_id"\n"Admission ID" = "episode_id"\n'
                       '"Date Given" = "assessment_date"\n"Measure" = "instrument"\n"Total" = "score"\n'
                       '[labels.instrument]\n"PHQ-9" = "phq9"\n"Urine Drug Screen" = "uds"\n')
    export = write(tmp_path / "measures.csv", "Measure ID,Admission ID,Date Given,Measure,Total",
                   "M1,E1,2024-01-03,PHQ-9,14", "M2,E1,2024-01-03,urine drug screen,0", "M3,E1,2024-01-03,GAD-7,9")
    store = Store(str(tmp_path / "a.duckdb"))
    import_files(store, [enrollments])
    result = import_files(store, [export], profile=profile).files[0]
    assert (result.kind, result.inserted, result.rejected) == ("assessments", 2, 1)
    assert [r[:5] for r in assessments(store)] == [("M1", "E1", date(2024, 1, 3), "phq9", 14),
                                                   ("M2", "E1", date(2024, 1, 3), "uds", 0)]
    typo = tmp_path / "typo.toml"
    typo.write_text('[labels.instrument]\n"PHQ-9" = "phq_9"\n')
    with pytest.raises(ProfileError, match=r"typo.toml: maps labels or codes to phq_9, not a configured instrument"):
        import_files(store, [export], profile=typo)
    store.close()
    done = run_analytics("ingest", "--db", str(tmp_path / "a.duckdb"), "--profile", str(typo), str(export))
    assert done.returncode == 2 and "phq_9, not a configured instrument" in done.stderr


def test_a_command_of_every_kind_is_one_transaction(tmp_path, enrollments, scores):
    """A refused file takes every kind of its command down with it: the store, its instruments and
    meta stay as they were, and only the refusal is logged."""
    store = Store(str(tmp_path / "a.duckdb"))
    first = write(tmp_path / "first.csv", ENROLLMENT_HEADER, "E9,P9,North,Adult IOP,2024-01-01,,,8")
    import_files(store, [first])

    def everything() -> dict:
        with store.read() as cur:
            return {t: sorted(map(str, cur.execute(f"SELECT * FROM {t}").fetchall()))
                    for t in ("enrollments", "sessions", "assessments", "instruments", "meta", "rejects")}

    before = everything()
    sessions = write(tmp_path / "sessions.csv", SESSION_HEADER, "S1,E1,2024-01-02,group,A,180,180,attended")
    bad_scores = write(tmp_path / "more.csv", ASSESSMENT_HEADER, "A9,E1,2024-01-02,phq9,99")
    broken = tmp_path / "broken.csv"
    broken.write_text("assessment_id,episode_id\nA1,E1\n")
    with pytest.raises(ImportRefused, match="required columns missing for assessments"):
        import_files(store, [scores, sessions, enrollments, bad_scores, broken])
    assert everything() == before
    with store.read() as cur:
        assert cur.execute("SELECT file, status FROM import_log ORDER BY batch_id").fetchall() == [
            ("first.csv", "loaded"), ("broken.csv", "refused")]
    # the same command without the broken file loads every kind, in order
    result = import_files(store, [scores, sessions, enrollments, bad_scores])
    assert [(f.kind, f.inserted, f.rejected) for f in result.files] == [
        ("enrollments", 2, 0), ("sessions", 1, 0), ("assessments", 3, 0), ("assessments", 0, 1)]
    store.close()


def test_existing_figures_are_the_same_with_scores_in_the_store(tmp_path, enrollments, scores):
    sessions = write(tmp_path / "sessions.csv", SESSION_HEADER,
                     "S1,E1,2024-01-02,group,A,180,180,attended", "S2,E2,2024-01-09,group,A,180,0,no_show")
    without, with_scores = tmp_path / "without.duckdb", tmp_path / "with.duckdb"
    for target, files in ((without, [enrollments, sessions]), (with_scores, [enrollments, sessions, scores])):
        assert run_analytics("ingest", "--db", str(target), *map(str, files)).returncode == 0
    figures = []
    for target in (without, with_scores):
        done = run_analytics("metrics", "--db", str(target), "--format", "json")
        assert done.returncode == 0, done.stderr
        figures.append({k: v for k, v in json.loads(done.stdout).items() if k != "measures"})
    assert figures[0] == figures[1]


# -- pseudonymised patient ids: recorded by the store, never mixed ---------------------------------
def test_a_pseudonymised_store_refuses_patient_ids_without_the_key(tmp_path, enrollments, scores):
    store = Store(str(tmp_path / "a.duckdb"))
    import_files(store, [enrollments], pseudonymise_key=KEY)
    with store.read() as cur:
        assert get_meta(cur, "patient_ids") == "pseudonymised"
        assert get_meta(cur, "pseudonym_key_check") == key_check(KEY)
    with pytest.raises(ImportRefused, match="holds pseudonymised patient ids") as refused:
        import_files(store, [enrollments])
    assert refused.value.file == str(enrollments)
    fhir = tmp_path / "Observation.ndjson"
    fhir.write_text('{"resourceType":"Observation","id":"O1"}\n')
    with pytest.raises(ImportRefused, match="holds pseudonymised patient ids"):
        import_files(store, [fhir])
    with pytest.raises(ImportRefused, match="key differs from the one the store's patient ids were made with"):
        import_files(store, [enrollments], pseudonymise_key=b"another key" * 4)
    # files without patient ids need no key
    assert import_files(store, [scores]).files[0].inserted == 3
    assert import_files(store, [enrollments], pseudonymise_key=KEY).files[0].unchanged == 2
    store.close()


def test_a_store_of_exported_ids_refuses_pseudonyms(tmp_path, enrollments):
    store = Store(str(tmp_path / "a.duckdb"))
    import_files(store, [enrollments])
    with store.read() as cur:
        assert get_meta(cur, "patient_ids") == "as exported"
    with pytest.raises(ImportRefused, match="holds patient ids as exported"):
        import_files(store, [enrollments], pseudonymise_key=KEY)
    store.close()


def test_a_store_that_has_not_recorded_its_patient_ids_is_judged_by_them(store, enrollments):
    """A store from before the record (or filled another way) holds pseudonyms when every
    patient id has their shape."""
    add_enrollments(store, [("E7", "p_0123456789abcdef", "North", "Adult IOP", "2024-01-01", None, None)])
    with pytest.raises(ImportRefused, match="holds pseudonymised patient ids"):
        import_files(store, [enrollments])
    add_enrollments(store, [("E8", "MRN-8", "North", "Adult IOP", "2024-01-01", None, None)])
    with pytest.raises(ImportRefused, match="holds patient ids as exported"):
        import_files(store, [enrollments], pseudonymise_key=KEY)
    assert import_files(store, [enrollments]).files[0].inserted == 2
