"""FHIR Bulk Data (ndjson) read as assessments: the same scores as the CSV, patients, retractions, lines.

The generator writes each score both as assessments.csv and as fhir/Observation.ndjson
(with fhir/Patient.ndjson), so the two ways in are compared on the same data. Which
scores have exactly one episode is worked out here independently, with pandas.
Reasons of single rows are in the corpus (tests/fixtures/ingest/malformed/fhir_*.ndjson).
"""
from __future__ import annotations

import json
from datetime import date
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.ingest import lines
from analytics.ingest.importer import ImportRefused, import_files
from analytics.ingest.profiles import ProfileError
from analytics.ingest.pseudonyms import pseudonym
from analytics.store import Store
from tests.support import REPO_ROOT, run_analytics

KEY = b"k" * 40
STORED = "SELECT assessment_id, episode_id, assessment_date, instrument, score FROM assessments ORDER BY 1"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fhir_sample")
    subprocess.run([sys.executable, "-m", "sample_data.generate", "--episodes", "400", "--seed", "1",
                    "--out", str(out), "--fhir"], cwd=REPO_ROOT, check=True, capture_output=True)
    return out


def one_episode_scores(generated: Path) -> tuple[pd.DataFrame, set[str]]:
    """The CSV's scores whose patient and date lie in exactly one episode's window (30 days
    before admission to discharge, open while active), and that episode is theirs; and the
    ids of the others."""
    e = pd.read_csv(generated / "enrollments.csv", dtype=str, keep_default_na=False)
    a = pd.read_csv(generated / "assessments.csv", dtype=str, keep_default_na=False)
    a["patient_id"] = a["episode_id"].map(e.set_index("episode_id")["patient_id"])
    pairs = a.merge(e[["episode_id", "patient_id", "admit_date", "discharge_date"]], on="patient_id",
                    suffixes=("", "_w"))
    day = pd.to_datetime(pairs["assessment_date"])
    admit = pd.to_datetime(pairs["admit_date"])
    discharge = pd.to_datetime(pairs["discharge_date"].replace("", None))
    inside = (day >= admit - pd.Timedelta(days=30)) & (discharge.isna() | (day <= discharge))
    held = pairs[inside].groupby("assessment_id")["episode_id_w"].agg(list)
    single = held[held.map(len) == 1].map(lambda w: w[0])
    good = a[a["assessment_id"].map(single) == a["episode_id"]]
    return good.drop(columns="patient_id"), set(a["assessment_id"]) - set(good["assessment_id"])


def stored(store: Store) -> list[tuple]:
    with store.read() as cur:
        return cur.execute(STORED).fetchall()


@pytest.fixture
def csv_and_fhir_stores(generated, tmp_path):
    """A store of the scores read from the CSV (those with one episode), and one from ndjson."""
    good, _ = one_episode_scores(generated)
    subset = tmp_path / "assessments.csv"
    good.to_csv(subset, index=False)
    base = [generated / "enrollments.csv", generated / "sessions.csv"]
    from_csv, from_fhir = Store(str(tmp_path / "csv.duckdb")), Store(str(tmp_path / "fhir.duckdb"))
    yield from_csv, from_fhir, base, subset
    from_csv.close()
    from_fhir.close()


def test_the_same_scores_as_csv_and_as_ndjson_give_the_same_assessments_and_figures(generated, csv_and_fhir_stores,
                                                                                    tmp_path):
    from_csv, from_fhir, base, subset = csv_and_fhir_stores
    _, ambiguous = one_episode_scores(generated)
    assert ambiguous, "the sample has scores in the overlapping windows of a readmission"
    import_files(from_csv, base + [subset])
    result = import_files(from_fhir, base + [generated / "fhir" / "Observation.ndjson",
                                             generated / "fhir" / "Patient.ndjson"])
    observations, patients = result.files[2], result.files[3]
    assert observations.rows == len(pd.read_csv(generated / "assessments.csv"))
    assert observations.rejected == len(ambiguous) and observations.skipped == 0
    assert patients.skipped == patients.rows > 0 and patients.inserted == 0
    with from_fhir.read() as cur:
        rejected = {r[0] for r in cur.execute("SELECT record_id FROM rejects").fetchall()}
    assert rejected == ambiguous
    assert stored(from_fhir) == stored(from_csv) and len(stored(from_csv)) > 2000
    figures = [json.loads(run_analytics("metrics", "--db", str(s.target), "--format", "json").stdout)
               for s in (from_csv, from_fhir)]
    assert figures[0] == figures[1]


@pytest.mark.parametrize("by_identifier", [False, True], ids=["patient_id", "identifier"])
def test_pseudonymised_patients_matched_by_id_or_through_an_identifier_give_the_same_assessments(
        generated, csv_and_fhir_stores, tmp_path, by_identifier):
    from_csv, from_fhir, base, subset = csv_and_fhir_stores
    profile = tmp_path / "mrn.toml"
    profile.write_text('name = "EHR with MRNs"\n' + ('[fhir]\npatient_identifier_system = "urn:iop:mrn"\n'
                                                       if by_identifier else ""))
    import_files(from_csv, base + [subset], pseudonymise_key=KEY)
    import_files(from_fhir, base, pseudonymise_key=KEY)
    fhir = generated / "fhir"
    result = import_files(from_fhir, [fhir / "Patient.ndjson", fhir / "Observation.ndjson"], profile=profile,
                          pseudonymise_key=KEY)
    assert [f.file for f in result.files] == ["Patient.ndjson", "Observation.ndjson"]
    assert stored(from_fhir) == stored(from_csv)
    with from_fhir.read() as cur:
        patient = cur.execute("SELECT patient_id FROM enrollments WHERE episode_id = 'E000001'").fetchone()[0]
    assert patient == pseudonym(KEY, "P0486949")


def write_ndjson(path: Path, *resources: dict | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in resources))
    return path


def observation(oid: str, patient: str = "MRN-1", day: str = "2024-01-10", score: int = 12,
                status: str = "final") -> dict:
    return {"resourceType": "Observation", "id": oid, "status": status,
            "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
            "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": day, "valueInteger": score}


@pytest.fixture
def enrolled(tmp_path) -> Path:
    path = tmp_path / "enrollments.csv"
    path.write_text("episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason\n"
                    "E1,MRN-1,North,Adult IOP,2024-01-01,,\n"
                    "E2,MRN-2,North,Adult IOP,2024-01-01,,\n")
    return path


def test_identifier_mode_rejects_observations_whose_patient_gives_no_single_identifier(tmp_path, enrolled):
    profile = tmp_path / "mrn.toml"
    profile.write_text('[fhir]\npatient_identifier_system = "urn:example:mrn"\n')
    mrn = "urn:example:mrn"
    fhir = write_ndjson(
        tmp_path / "bulk.ndjson",
        {"resourceType": "Patient", "id": "p1", "identifier": [{"system": mrn, "value": "MRN-1"},
                                                               {"system": "urn:other", "value": "X"}]},
        {"resourceType": "Patient", "id": "p2", "identifier": [{"system": "urn:other", "value": "MRN-2"}]},
        {"resourceType": "Patient", "id": "p3", "identifier": [{"system": mrn, "value": "MRN-1"},
                                                               {"system": mrn, "value": "MRN-2"}]},
        observation("O1", "p1"), observation("O2", "p2"), observation("O3", "p3"), observation("O4", "p4"),
    )
    store = Store(str(tmp_path / "x.duckdb"))
    import_files(store, [enrolled])
    result = import_files(store, [fhir], profile=profile).files[0]
    assert (result.rows, result.inserted, result.rejected, result.skipped) == (7, 1, 3, 3)
    with store.read() as cur:
        rejects = cur.execute("SELECT line, problems[1].reason FROM rejects ORDER BY line").fetchall()
        assert cur.execute("SELECT assessment_id, episode_id FROM assessments").fetchall() == [("O1", "E1")]
    store.close()
    assert [line for line, _ in rejects] == [5, 6, 7]
    assert "no identifier of system urn:example:mrn" in rejects[0][1]
    assert "more than one identifier of system urn:example:mrn" in rejects[1][1]
    assert "no Patient resource with this id in the command" in rejects[2][1]


def test_a_retraction_removes_the_earlier_import_of_its_id_on_both_stores(store, tmp_path, enrolled):
    import_files(store, [enrolled])
    first = write_ndjson(tmp_path / "first.ndjson", observation("O1"), observation("O2", day="2024-01-24"))
    retract = write_ndjson(tmp_path / "retract.ndjson", observation("O1", status="entered-in-error"))
    assert import_files(store, [first]).files[0].inserted == 2
    done = import_files(store, [retract]).files[0]
    assert (done.rejected, done.removed) == (1, 1)
    assert [r[0] for r in stored(store)] == ["O2"]
    again = import_files(store, [retract]).files[0]
    assert (again.rejected, again.removed) == (1, 0)  # nothing left to remove
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM rejects WHERE file = 'retract.ndjson'").fetchone()[0] == 1
    back = import_files(store, [first]).files[0]  # a final version after the retraction loads again
    assert (back.inserted, back.unchanged) == (1, 1)
    assert [r[0] for r in stored(store)] == ["O1", "O2"]


def test_a_csv_import_of_a_retracted_id_and_the_retraction_in_one_command(tmp_path, enrolled):
    """Files apply in the order given within a kind: the later retraction wins."""
    scores = tmp_path / "scores.csv"
    scores.write_text("assessment_id,episode_id,assessment_date,instrument,score\nO1,E1,2024-01-10,phq9,12\n")
    retract = write_ndjson(tmp_path / "retract.ndjson", observation("O1", status="entered-in-error"))
    store = Store(str(tmp_path / "x.duckdb"))
    result = import_files(store, [enrolled, scores, retract])
    assert [(f.kind, f.inserted, f.removed) for f in result.files] == [
        ("enrollments", 2, None), ("assessments", 1, None), ("assessments", 0, 1)]
    assert stored(store) == []
    store.close()


def test_cli_json_counts_skipped_and_removed_for_fhir_files_only(tmp_path, enrolled):
    fhir = write_ndjson(tmp_path / "Observation.ndjson", observation("O1"), {"resourceType": "Encounter", "id": "X"},
                        "", "{not json")
    done = run_analytics("ingest", "--db", str(tmp_path / "cli.duckdb"), "--format", "json",
                         "--kind", "assessments", str(enrolled), str(fhir))
    # --kind applies to every file of a command: the enrollments file is refused as assessments
    assert done.returncode == 1 and "required columns missing for assessments" in done.stderr
    run_analytics("ingest", "--db", str(tmp_path / "cli.duckdb"), str(enrolled))
    done = run_analytics("ingest", "--db", str(tmp_path / "cli.duckdb"), "--format", "json",
                         "--kind", "assessments", str(fhir))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"files": [
        {"file": "Observation.ndjson", "kind": "assessments", "rows": 3, "inserted": 1, "updated": 0,
         "unchanged": 0, "rejected": 1, "skipped": 1, "removed": 0, "batch": 2}]}
    text = run_analytics("ingest", "--db", str(tmp_path / "cli.duckdb"), str(fhir))
    assert "3 rows: 0 inserted, 0 updated, 1 unchanged, 1 rejected, 1 skipped, 0 removed" in text.stdout
    store = Store(str(tmp_path / "cli.duckdb"))
    with store.read() as cur:
        log = cur.execute("SELECT kind, status, message, rows FROM import_log WHERE file = 'Observation.ndjson' "
                          "ORDER BY batch_id DESC LIMIT 1").fetchone()
    store.close()
    assert log == ("assessments", "loaded", "1 resource of other types skipped; 0 stored rows removed "
                                            "(entered in error)", 3)


def test_cli_kind_assessments_settles_a_csv_of_two_kinds_and_its_json_has_no_fhir_counts(tmp_path, enrolled):
    scores = tmp_path / "scores.csv"
    scores.write_text("assessment_id,session_id,episode_id,assessment_date,instrument,score\n"
                      "A1,S1,E1,2024-01-10,Phq9,12\nA2,S2,E2,2024-01-11,gad7,22\n")
    db = str(tmp_path / "cli.duckdb")
    run_analytics("ingest", "--db", db, str(enrolled))
    refused = run_analytics("ingest", "--db", db, "--format", "json", str(scores))
    assert refused.returncode == 1
    assert "its headers fit more than one kind of export (sessions and assessments); use --kind" in refused.stderr
    done = run_analytics("ingest", "--db", db, "--format", "json", "--kind", "assessments", str(scores))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"files": [
        {"file": "scores.csv", "kind": "assessments", "rows": 2, "inserted": 1, "updated": 0,
         "unchanged": 0, "rejected": 1, "batch": 3}]}
    store = Store(db)
    with store.read() as cur:
        assert cur.execute(STORED).fetchall() == [("A1", "E1", date(2024, 1, 10), "phq9", 12)]
        assert cur.execute("SELECT line, to_json(problems) FROM rejects WHERE file = 'scores.csv'").fetchall() == [
            (3, '[{"column":"score","raw_value":"22","reason":"score outside the range of gad7 (0 to 21)"}]')]
        audited = [json.loads(d) for (d,) in cur.execute(
            "SELECT detail FROM audit_log WHERE action = 'import' ORDER BY logged_at").fetchall()]
    store.close()
    # the audit trail records the same counts as --format json: no FHIR counts for a CSV
    assert [{k: d[k] for k in ("file", "inserted", "rejected")} for d in audited] == [
        {"file": "enrollments.csv", "inserted": 2, "rejected": 0}, {"file": "scores.csv", "inserted": 1, "rejected": 1}]
    assert all("skipped" not in d and "removed" not in d for d in audited)


def test_an_ndjson_file_is_refused_as_another_kind(tmp_path):
    fhir = write_ndjson(tmp_path / "Observation.ndjson", observation("O1"))
    store = Store(str(tmp_path / "x.duckdb"))
    with pytest.raises(ImportRefused, match="read as FHIR Bulk Data .Observation resources as assessments., "
                                            "not as sessions"):
        import_files(store, [fhir], kind="sessions")
    store.close()


def test_an_ndjson_file_is_recognised_by_its_content_whatever_its_name(tmp_path, enrolled):
    renamed = write_ndjson(tmp_path / "export.txt", observation("O1"))
    store = Store(str(tmp_path / "x.duckdb"))
    result = import_files(store, [enrolled, renamed])
    assert [(f.kind, f.inserted, f.skipped) for f in result.files] == [("enrollments", 2, None),
                                                                     ("assessments", 1, 0)]
    store.close()


def test_a_profile_maps_local_codes_and_its_codes_are_checked(tmp_path, enrolled):
    local = {"resourceType": "Observation", "id": "B1", "status": "final",
             "code": {"coding": [{"system": "http://ehr.example.org/codes", "code": "BAM-U"}]},
             "subject": {"reference": "Patient/MRN-1"}, "effectiveDateTime": "2024-01-10", "valueInteger": 4}
    fhir = write_ndjson(tmp_path / "bam.ndjson", local)
    profile = tmp_path / "codes.toml"
    profile.write_text('[[fhir.codes]]\nsystem = "http://ehr.example.org/codes"\ncode = "BAM-U"\n'
                       'instrument = "bam_use"\n')
    store = Store(str(tmp_path / "x.duckdb"))
    import_files(store, [enrolled])
    assert import_files(store, [fhir]).files[0].rejected == 1  # unmapped without the profile
    assert import_files(store, [fhir], profile=profile).files[0].inserted == 1
    assert stored(store)[0][3:] == ("bam_use", 4)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[[fhir.codes]]\nsystem = "http://ehr.example.org/codes"\ncode = "BAM-U"\n'
                     'instrument = "bam_usage"\n')
    with pytest.raises(ProfileError, match="bam_usage, not a configured instrument"):
        import_files(store, [fhir], profile=wrong)
    clash = tmp_path / "clash.toml"
    clash.write_text('[[fhir.codes]]\nsystem = "http://loinc.org"\ncode = "44261-6"\ninstrument = "gad7"\n')
    with pytest.raises(ProfileError, match=re.escape("gives http://loinc.org|44261-6 another instrument")):
        import_files(store, [fhir], profile=clash)
    store.close()


def test_rejects_of_fhir_files_never_hold_a_patient_reference(tmp_path, enrolled):
    secret = "MRN-SECRET-77"
    fhir = write_ndjson(
        tmp_path / "bulk.ndjson",
        observation("O1", secret), observation("O2", "MRN-1", day="2023-01-01"), observation("O3", secret, score=99),
        {"resourceType": "Observation", "id": "O4", "status": "final",
         "subject": {"reference": f"Group/{secret}"}},
        '{"resourceType":"Observation","subject":{"reference":"Patient/' + secret + '"}',
    )
    store = Store(str(tmp_path / "x.duckdb"))
    import_files(store, [enrolled])
    assert import_files(store, [fhir]).files[0].rejected == 5
    with store.read() as cur:
        text = str(cur.execute("SELECT * FROM rejects").fetchall()) + str(cur.execute("SELECT * FROM import_log")
                                                                          .fetchall())
    store.close()
    assert secret not in text


def test_ndjson_line_numbers_count_blank_lines_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(lines, "_CHUNK", 7)  # lines and chunk seams fall everywhere
    body = b'{"a":1}\n\n  \t\r\n{"b":2}\r\n\x0b\n{"c":3}\n   x\n\n{"d":4}'
    path = tmp_path / "f.ndjson"
    path.write_bytes(body)
    expected = [i + 1 for i, line in enumerate(body.split(b"\n")) if line.strip(b" \t\r\x0b\x0c")]
    assert lines.nonblank_lines(path).tolist() == expected == [1, 4, 6, 7, 9]
    path.write_bytes(b"\n\n")
    assert lines.nonblank_lines(path).tolist() == []


@pytest.mark.slow
def test_a_large_file_read_in_parallel_keeps_every_line_in_its_place(tmp_path, enrolled):
    """Enough lines for DuckDB to read the file in several buffers at once (of 32 MB: twice its
    largest object), with blank and broken lines spread through it: each reject and each score
    is on its own line."""
    rng = np.random.default_rng(3)
    n = 350_000
    kinds = rng.choice(["ok", "blank", "broken", "open", "preliminary"], size=n, p=[0.9, 0.03, 0.03, 0.02, 0.02])
    text = []
    for i, kind in enumerate(kinds):
        if kind == "blank":
            text.append("")
        elif kind == "broken":
            text.append('{"resourceType":"Observation","id":"X' + str(i))
        elif kind == "open":
            text.append('{"resourceType":"Observation","code":{"coding":[')
        else:
            text.append(json.dumps(observation(f"O{i}", "MRN-1", status="final" if kind == "ok" else "preliminary",
                                               score=i % 28)))
    path = tmp_path / "large.ndjson"
    path.write_text("\n".join(text) + "\n")
    assert path.stat().st_size > 2 * 32 * 2**20
    store = Store(str(tmp_path / "x.duckdb"))
    import_files(store, [enrolled])
    result = import_files(store, [path]).files[0]
    line_of = {f"O{i}": i + 1 for i in range(n)}
    with store.read() as cur:
        rejects = cur.execute("SELECT line, record_id, problems[1].reason FROM rejects").fetchall()
        loaded = cur.execute("SELECT assessment_id, source_line, score FROM assessments").fetchall()
    store.close()
    expected_rejects = {i + 1: kind for i, kind in enumerate(kinds) if kind in ("broken", "open", "preliminary")}
    assert result.rows == n - int((kinds == "blank").sum())
    assert {line: ("preliminary" if "not final" in reason else "broken") for line, _, reason in rejects} == {
        line: ("preliminary" if kind == "preliminary" else "broken") for line, kind in expected_rejects.items()}
    assert all(line_of[rid] == line for line, rid, _ in rejects if rid)
    assert len(loaded) == int((kinds == "ok").sum())
    assert all(line_of[aid] == line and int(aid[1:]) % 28 == score for aid, line, score in loaded)
