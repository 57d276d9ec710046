"""The referrals import (one row per request for service) and the enrollments' first_contact_date:
detection, profiles, pseudonyms, extra columns, upsert by id, atomicity and the CLI.
Tests of what a backend does (values stored, replaced by id, a command's atomicity, the
latest version of an episode) run on both stores; the rest on the embedded file.

Row-by-row reject reasons are in the corpus (tests/fixtures/ingest/malformed/referrals_*.csv,
enrollments_first_contact.csv; tests/test_ingest_corpus.py).
"""
from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from analytics.ingest.importer import ImportRefused, import_files
from analytics.ingest.profiles import load_profile
from analytics.ingest.pseudonyms import pseudonym
from analytics.ingest.readers import detected_kinds
from analytics.store import Store
from analytics.store.schema import REFERRAL_OUTCOMES
from tests.csv_exports import counts_with_rows as counts
from tests.csv_exports import write_csv
from tests.support import REPO_ROOT, run_analytics

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "ingest"
ENROLLMENT_HEADER = ("episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,"
                     "planned_weeks,first_contact_date")
REFERRAL_HEADER = ("referral_id,patient_id,site,program,first_contact_date,intake_assessment_date,outcome,"
                   "episode_id,referral_source")


@pytest.fixture
def enrollments(tmp_path) -> Path:
    return write_csv(tmp_path / "enrollments.csv", ENROLLMENT_HEADER, [
        "E1,MRN-1,North,Adult IOP,2024-01-10,,,12,2024-01-02",
        "E2,MRN-2,South,Adult IOP,2024-01-15,,,12,",
    ])


@pytest.fixture
def referrals(tmp_path) -> Path:
    return write_csv(tmp_path / "referrals.csv", REFERRAL_HEADER, [
        "R1,MRN-1,North,Adult IOP,2024-01-02,2024-01-05,admitted,E1,Self",
        "R2,MRN-2,North,Adult IOP,2024-01-03,,admitted,E2,Court",  # admitted at another site
        "R3,MRN-3,North,Adult IOP,2024-01-04,2024-01-08,declined,,Primary care",
        "R4,MRN-4,South,Adult IOP,2024-01-05,,pending,,",
    ])


# -- the kind -----------------------------------------------------------------------------
@pytest.mark.parametrize("headers, kinds", [
    (REFERRAL_HEADER.split(","), ["referrals"]),
    # a referrals export may carry the admission date: referral_id decides it
    (REFERRAL_HEADER.split(",") + ["admit_date"], ["referrals"]),
    (ENROLLMENT_HEADER.split(","), ["enrollments"]),
    (["session_id", "referral_id", "episode_id"], ["sessions", "referrals"]),
])
def test_a_referral_id_column_makes_a_referrals_export(headers, kinds):
    assert detected_kinds(headers, load_profile(None)) == kinds


def test_a_referrals_export_carrying_admit_date_imports_as_referrals_and_keeps_it_as_extra(store_file, enrollments,
                                                                                            tmp_path):
    path = write_csv(tmp_path / "crm.csv", REFERRAL_HEADER + ",admit_date",
                     ["R1,MRN-1,North,Adult IOP,2024-01-02,,admitted,E1,Self,2024-01-10"])
    assert counts(import_files(store_file, [enrollments, path])) == [
        ("enrollments", 2, 2, 0, 0, 0), ("referrals", 1, 1, 0, 0, 0)]
    with store_file.read() as cur:
        assert cur.execute("SELECT extra FROM referrals").fetchone()[0] == {
            "referral_source": "Self", "admit_date": "2024-01-10"}


def test_a_file_whose_headers_fit_two_kinds_is_refused_naming_both(store_file, tmp_path):
    path = write_csv(tmp_path / "both.csv", "referral_id,assessment_id,patient_id", ["R1,A1,P1"])
    with pytest.raises(ImportRefused) as refused:
        import_files(store_file, [path])
    assert "its headers fit more than one kind of export (assessments and referrals); use --kind" in str(
        refused.value)


def test_kind_referrals_overrides_detection_from_the_cli_with_json_counts(tmp_path, enrollments):
    # a session_id column as well: detection would refuse it, --kind decides
    path = write_csv(tmp_path / "r.csv", REFERRAL_HEADER + ",session_id", [
        "R1,MRN-1,North,Adult IOP,2024-01-02,,admitted,E1,Self,S9",
        "R2,MRN-9,North,Adult IOP,2024-01-02,,admitted,,Self,S9",  # no episode
    ])
    db = str(tmp_path / "cli.duckdb")
    assert run_analytics("ingest", "--db", db, str(enrollments)).returncode == 0
    done = run_analytics("ingest", "--db", db, "--kind", "referrals", "--format", "json", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"files": [{"file": "r.csv", "kind": "referrals", "rows": 2, "inserted": 1,
                                                  "updated": 0, "unchanged": 0, "rejected": 1, "batch": 2}]}
    refused = run_analytics("ingest", "--db", db, "--format", "json", str(path))
    assert refused.returncode == 1 and "sessions and referrals" in refused.stderr
    assert "Traceback" not in refused.stderr


# -- values -------------------------------------------------------------------------------
def test_referrals_load_typed_with_their_extra_columns(store, enrollments, referrals):
    assert counts(import_files(store, [referrals, enrollments])) == [
        ("enrollments", 2, 2, 0, 0, 0), ("referrals", 4, 4, 0, 0, 0)]
    with store.read() as cur:
        rows = cur.execute(
            "SELECT referral_id, patient_id, site, first_contact_date, intake_assessment_date, outcome, episode_id, "
            "extra, source_line FROM referrals ORDER BY referral_id").fetchall()
        first_contacts = cur.execute(
            "SELECT episode_id, first_contact_date FROM enrollments ORDER BY 1").fetchall()
    assert rows == [
        ("R1", "MRN-1", "North", date(2024, 1, 2), date(2024, 1, 5), "admitted", "E1", {"referral_source": "Self"}, 2),
        ("R2", "MRN-2", "North", date(2024, 1, 3), None, "admitted", "E2", {"referral_source": "Court"}, 3),
        ("R3", "MRN-3", "North", date(2024, 1, 4), date(2024, 1, 8), "declined", None,
         {"referral_source": "Primary care"}, 4),
        ("R4", "MRN-4", "South", date(2024, 1, 5), None, "pending", None, {"referral_source": None}, 5),
    ]
    assert first_contacts == [("E1", date(2024, 1, 2)), ("E2", None)]


def test_a_profile_maps_a_crm_exports_headers_outcome_labels_and_dates(store_file, enrollments, tmp_path):
    profile = tmp_path / "crm.toml"
    profile.write_text('''name = "CRM leads"
date_format = "%m/%d/%Y"
ignore = ["Notes"]

[columns.referrals]
"Lead ID" = "referral_id"
"Client ID" = "patient_id"
"Location" = "site"
"Inquiry Date" = "first_contact_date"
"Assessment Date" = "intake_assessment_date"
"Disposition" = "outcome"
"Admission ID" = "episode_id"

[labels.outcome]
"Admit" = "admitted"
"Lost Contact" = "no_show"
"Not Appropriate" = "not_eligible"
''')
    path = tmp_path / "leads.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Lead ID", "Client ID", "Location", "program", "Inquiry Date", "Assessment Date",
                         "Disposition", "Admission ID", "Lead Source", "Notes"])
        writer.writerows([
            ["L1", "MRN-1", "North", "Adult IOP", "01/02/2024", "01/05/2024", "ADMIT", "E1", "Hospital", "rang"],
            ["L2", "MRN-7", "North", "Adult IOP", "01/03/2024", "", "lost contact", "", "Self", ""],
            ["L3", "MRN-8", "North", "Adult IOP", "01/04/2024", "", "Not Appropriate", "", "Self", ""],
            ["L4", "MRN-9", "North", "Adult IOP", "01/04/2024", "", "Declined", "", "Self", ""],  # canonical, any case
            ["L5", "MRN-9", "North", "Adult IOP", "2024-01-04", "", "Waitlist", "", "Self", ""],
        ])
    import_files(store_file, [enrollments])
    result = import_files(store_file, [path], profile=profile)
    assert counts(result) == [("referrals", 5, 4, 0, 0, 1)]
    with store_file.read() as cur:
        rows = cur.execute("SELECT referral_id, first_contact_date, outcome, extra FROM referrals "
                           "ORDER BY referral_id").fetchall()
        problems = cur.execute("SELECT line, unnest(problems) FROM rejects").fetchall()
    assert rows == [("L1", date(2024, 1, 2), "admitted", {"Lead Source": "Hospital"}),
                    ("L2", date(2024, 1, 3), "no_show", {"Lead Source": "Self"}),
                    ("L3", date(2024, 1, 4), "not_eligible", {"Lead Source": "Self"}),
                    ("L4", date(2024, 1, 4), "declined", {"Lead Source": "Self"})]
    assert [(line, p["column"], p["raw_value"]) for line, p in problems] == [
        (6, "first_contact_date", "2024-01-04"), (6, "outcome", "Waitlist")]
    assert problems[0][1]["reason"] == "bad date: not a date in the expected format (%m/%d/%Y)"


def test_patient_ids_are_pseudonymised_like_the_enrollments(store_file, enrollments, referrals):
    key = b"a long and secret pseudonymisation key"
    import_files(store_file, [enrollments, referrals], pseudonymise_key=key)
    with store_file.read() as cur:
        linked = cur.execute(
            "SELECT r.referral_id, r.patient_id, e.patient_id FROM referrals AS r "
            "LEFT JOIN enrollments AS e USING (episode_id) ORDER BY 1").fetchall()
        text = " ".join(str(r) for r in cur.execute("SELECT * FROM referrals").fetchall())
    assert [(r, p) for r, p, _ in linked] == [(f"R{i}", pseudonym(key, f"MRN-{i}")) for i in range(1, 5)]
    assert all(p == e for _, p, e in linked if e is not None)  # the same person on both sides
    assert "MRN-" not in text
    again = import_files(store_file, [enrollments, referrals], pseudonymise_key=key)
    assert [f.unchanged for f in again.files] == [2, 4]


def test_a_reader_reject_on_a_referral_line_masks_the_line(store_file, enrollments, tmp_path):
    path = write_csv(tmp_path / "r.csv", REFERRAL_HEADER, ["R1,MRN-SECRET,North,Adult IOP,2024-01-02,,declined"])
    result = import_files(store_file, [enrollments, path]).files[1]
    assert (result.rows, result.rejected) == (1, 1)
    with store_file.read() as cur:
        raw = cur.execute("SELECT problems[1].raw_value FROM rejects WHERE kind = 'referrals'").fetchone()[0]
    assert "MRN-SECRET" not in raw and raw.startswith("(hidden: ")


# -- upsert, idempotency, atomicity -----------------------------------------------------------
def test_a_newer_export_updates_referrals_by_id_and_a_reimport_changes_nothing(store, enrollments, referrals,
                                                                              tmp_path):
    import_files(store, [enrollments, referrals])
    newer = write_csv(tmp_path / "newer.csv", REFERRAL_HEADER, [
        "R1,MRN-1,North,Adult IOP,2024-01-02,2024-01-05,admitted,E1,Self",  # as before
        "R4,MRN-4,South,Adult IOP,2024-01-05,2024-01-09,declined,,",  # decided since
        "R5,MRN-5,South,Adult IOP,2024-01-09,,pending,,Self",  # new
    ])
    assert counts(import_files(store, [newer])) == [("referrals", 3, 1, 1, 1, 0)]
    assert counts(import_files(store, [newer])) == [("referrals", 3, 0, 0, 3, 0)]
    assert counts(import_files(store, [referrals])) == [("referrals", 4, 0, 1, 3, 0)]  # the older one wins again
    with store.read() as cur:
        assert cur.execute("SELECT referral_id, outcome FROM referrals ORDER BY 1").fetchall() == [
            ("R1", "admitted"), ("R2", "admitted"), ("R3", "declined"), ("R4", "pending"), ("R5", "pending")]


def test_admitted_referrals_may_name_episodes_of_the_same_command_in_any_file_order(store_file, enrollments, referrals):
    result = import_files(store_file, [referrals, enrollments])
    assert [f.kind for f in result.files] == ["enrollments", "referrals"]
    assert result.files[1].rejected == 0


def test_a_refused_file_loads_no_referral_of_its_command(store, enrollments, referrals):
    with pytest.raises(ImportRefused):
        import_files(store, [enrollments, referrals, FIXTURES / "refused" / "referrals_missing_outcome.csv"])
    with store.read() as cur:
        assert cur.execute("SELECT (SELECT count(*) FROM referrals), (SELECT count(*) FROM enrollments)"
                           ).fetchone() == (0, 0)


def test_a_referral_whose_episode_an_enrollment_update_moved_is_listed_as_a_conflict(store, enrollments, referrals,
                                                                                    tmp_path):
    from analytics.ingest.history import referral_conflicts

    import_files(store, [enrollments, referrals])
    with store.read() as cur:
        assert referral_conflicts(cur).empty
    moved = write_csv(tmp_path / "moved.csv", ENROLLMENT_HEADER, ["E1,MRN-1,North,Adult IOP,2024-01-01,,,12,"])
    import_files(store, [moved])
    with store.read() as cur:
        conflicts = referral_conflicts(cur)
    assert conflicts[["referral_id", "episode_id", "conflict"]].values.tolist() == [
        ["R1", "E1", "episode admitted before the first contact"]]


def test_the_full_exports_import_through_the_real_importer_without_a_reject(full_exports, full_store_path):
    """The helper tests use for a store of the generator's --full output."""
    def read(name: str) -> list[dict]:
        with open(full_exports / name, newline="") as handle:
            return list(csv.DictReader(handle))

    enrollments, referrals = read("enrollments.csv"), read("referrals.csv")
    store = Store(full_store_path)
    try:
        with store.read() as cur:
            log = cur.execute("SELECT kind, rows, inserted, rejected FROM import_log ORDER BY batch_id").fetchall()
            dated = cur.execute("SELECT count(first_contact_date) FROM enrollments").fetchone()[0]
            outcomes = dict(cur.execute("SELECT outcome, count(*) FROM referrals GROUP BY ALL").fetchall())
            sources = cur.execute("SELECT count(DISTINCT extra['referral_source']) FROM referrals").fetchone()[0]
    finally:
        store.close()
    assert [k for k, *_ in log] == ["enrollments", "sessions", "referrals"]
    assert all(rows == inserted and rejected == 0 for _, rows, inserted, rejected in log)
    assert log[0][1] == len(enrollments) and log[2][1] == len(referrals)
    assert dated == sum(1 for e in enrollments if e["first_contact_date"]) < len(enrollments)
    assert set(outcomes) == set(REFERRAL_OUTCOMES)
    assert outcomes == {o: sum(1 for r in referrals if r["outcome"] == o) for o in outcomes}
    assert sources > 1


def test_a_referrals_workbook_reads_date_cells_and_skips_empty_rows(store_file, enrollments, tmp_path):
    import duckdb

    from analytics.store.extensions import load_extensions

    path = tmp_path / "referrals.xlsx"
    con = duckdb.connect()
    load_extensions(con, ("excel",))
    con.execute(f"""COPY (SELECT * FROM (VALUES
        ('R1', 'MRN-1', 'North', 'Adult IOP', DATE '2024-01-02', DATE '2024-01-05', 'Admitted', 'E1'),
        (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        ('R2', 'MRN-2', 'North', 'Adult IOP', DATE '2024-01-06', DATE '2024-01-03', 'declined', NULL))
        AS t(referral_id, patient_id, site, program, first_contact_date, intake_assessment_date, outcome,
             episode_id)) TO '{path}' (FORMAT xlsx, HEADER true)""")
    con.close()
    result = import_files(store_file, [enrollments, path]).files[1]
    assert (result.kind, result.rows, result.inserted, result.rejected) == ("referrals", 2, 1, 1)
    with store_file.read() as cur:
        assert cur.execute("SELECT first_contact_date, intake_assessment_date, outcome FROM referrals").fetchall() == [
            (date(2024, 1, 2), date(2024, 1, 5), "admitted")]
        # the empty sheet row 3 is not a record; R2 is on sheet row 4
        assert cur.execute("SELECT line, record_id, problems[1].column FROM rejects").fetchall() == [
            (4, "R2", "intake_assessment_date")]
