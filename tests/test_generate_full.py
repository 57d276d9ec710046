"""The generator's --full exports: assessments, referrals, first_contact_date, FHIR ndjson.

Every test runs the generator into a scratch directory and reads the files back
with pandas (sample_data/figures.py) or DuckDB, independently of the numpy code
that drew them. The rules checked row by row are those the importer enforces.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sample_data import SAMPLE_DIR, SAMPLE_EPISODES, SAMPLE_SEED
from sample_data import parameters as P
from sample_data.figures import (
    assessment_figures, read_exports, read_full_exports, referral_figures,
)
from sample_data.generate import main

DATA_END = pd.Timestamp(P.DATA_END)
FULL_FILES = ("enrollments.csv", "sessions.csv", "assessments.csv", "referrals.csv",
              "fhir/Observation.ndjson", "fhir/Patient.ndjson")
ASSESSMENT_HEADER = "assessment_id,episode_id,assessment_date,instrument,score"
REFERRAL_HEADER = ("referral_id,patient_id,site,program,first_contact_date,"
                   "intake_assessment_date,outcome,episode_id,referral_source")
FULL_ENROLLMENT_HEADER = ("episode_id,patient_id,site,program,admit_date,discharge_date,"
                          "discharge_reason,planned_weeks,first_contact_date,payer,"
                          "referral_source,primary_substance,age_group,sex")
NO_FIRST_CONTACT = [name for name, a in P.SITE_ACCESS.items() if not a.records_first_contact]


def run(out: Path, episodes: int, seed: int, *extra: str) -> Path:
    assert main(["--episodes", str(episodes), "--seed", str(seed), "--out", str(out), *extra]) == 0
    return out


@pytest.fixture(scope="module")
def medium_dir(tmp_path_factory) -> Path:
    """3,000 episodes with --full and --fhir: about 15,000 scores and 4,700 referrals."""
    return run(tmp_path_factory.mktemp("full"), 3000, 11, "--fhir")


@pytest.fixture(scope="module")
def medium(medium_dir):
    e, s = read_exports(medium_dir)
    a, r = read_full_exports(medium_dir)
    return e, s, a, r


@pytest.fixture(scope="module")
def scores(medium) -> dict:
    e, s, a, _ = medium
    return assessment_figures(e, s, a, DATA_END)


@pytest.fixture(scope="module")
def access(medium) -> dict:
    e, _, _, r = medium
    return referral_figures(e, r, DATA_END)


# ---- determinism, and the existing exports untouched ----------------------------

def test_same_arguments_give_identical_bytes(tmp_path):
    a = run(tmp_path / "a", 300, 5, "--fhir")
    b = run(tmp_path / "b", 300, 5, "--fhir")
    c = run(tmp_path / "c", 300, 6, "--fhir")
    for name in FULL_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def _without_first_contact(path: Path) -> bytes:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(table.columns) == FULL_ENROLLMENT_HEADER.split(",")
    rows = table.drop(columns="first_contact_date")
    return ("\n".join([",".join(rows.columns)] + [",".join(r) for r in rows.to_numpy()]) + "\n"
            ).encode("utf-8")


def test_full_keeps_the_committed_sample_apart_from_first_contact(tmp_path):
    # The committed sample is the --full run's output (tests/test_generate.py); the plain
    # run of the same arguments gives the same rows without first_contact_date.
    out = run(tmp_path, SAMPLE_EPISODES, SAMPLE_SEED)
    assert (out / "sessions.csv").read_bytes() == (SAMPLE_DIR / "sessions.csv").read_bytes()
    assert _without_first_contact(SAMPLE_DIR / "enrollments.csv") == \
        (out / "enrollments.csv").read_bytes()


def test_full_keeps_a_larger_run_apart_from_first_contact(tmp_path):
    plain, full = run(tmp_path / "plain", 2500, 3), run(tmp_path / "full", 2500, 3, "--full")
    assert not (plain / "assessments.csv").exists()
    assert (plain / "sessions.csv").read_bytes() == (full / "sessions.csv").read_bytes()
    assert _without_first_contact(full / "enrollments.csv") == \
        (plain / "enrollments.csv").read_bytes()


def test_referral_count_changes_only_the_requests_not_admitted(tmp_path):
    default = run(tmp_path / "d", 300, 5, "--full")
    more = run(tmp_path / "m", 300, 5, "--referrals", "2000")
    r_default = pd.read_csv(default / "referrals.csv", dtype=str, keep_default_na=False)
    r_more = pd.read_csv(more / "referrals.csv", dtype=str, keep_default_na=False)
    assert len(r_more) == 2000 and r_more["referral_id"].is_unique
    admitted = [r[r["outcome"] == "admitted"].drop(columns="referral_id").sort_values("episode_id")
                .reset_index(drop=True) for r in (r_default, r_more)]
    pd.testing.assert_frame_equal(*admitted)
    for name in ("enrollments.csv", "sessions.csv", "assessments.csv"):
        assert (default / name).read_bytes() == (more / name).read_bytes(), name


def test_too_few_referrals_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--episodes", "300", "--seed", "5", "--out", str(tmp_path), "--referrals", "10"])
    assert exc.value.code == 2
    assert re.search(r"--referrals 10 is fewer than the \d+ admitted requests",
                     capsys.readouterr().err)


# ---- format and the importer's rules, row by row ---------------------------------

@pytest.mark.parametrize("name, header", [("assessments.csv", ASSESSMENT_HEADER),
                                          ("referrals.csv", REFERRAL_HEADER),
                                          ("enrollments.csv", FULL_ENROLLMENT_HEADER)])
def test_headers_utf8_lf(medium_dir, name, header):
    raw = (medium_dir / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    assert raw.decode("utf-8").split("\n", 1)[0] == header


def test_assessment_rows_follow_the_rules(medium):
    e, _, a, _ = medium
    assert a["assessment_id"].is_unique
    assert a["assessment_id"].str.fullmatch(r"A\d{7}").all()
    assert set(a["instrument"]) == set(P.INSTRUMENTS)
    top = a["instrument"].map(P.SCORE_MAX)
    assert a["score"].between(0, top).all()
    assert set(a.loc[a["instrument"] == "uds", "score"]) == {0, 1}
    j = a.merge(e[["episode_id", "admit_date", "discharge_date"]], on="episode_id",
                how="left", validate="many_to_one")
    assert j["admit_date"].notna().all()  # every score belongs to an episode
    assert (j["assessment_date"] >= j["admit_date"] - pd.Timedelta(days=30)).all()
    assert (j["assessment_date"] <= j["discharge_date"].fillna(DATA_END)).all()
    assert (j["assessment_date"] <= DATA_END).all()


def test_scores_stop_with_the_lagging_sites_sessions(medium):
    e, _, a, _ = medium
    lagging = [s.name for s in P.SITES if s.session_lag]
    j = a.merge(e[["episode_id", "site"]], on="episode_id")
    last = j.loc[j["site"].isin(lagging), "assessment_date"].max()
    assert last <= DATA_END - pd.Timedelta(days=P.LAG_DAYS)


def test_referral_rows_follow_the_rules(medium):
    e, _, _, r = medium
    assert r["referral_id"].is_unique
    assert set(r["outcome"]) <= set(P.REFERRAL_OUTCOMES)
    assert set(r["site"]) <= {s.name for s in P.SITES}
    assert set(r["program"]) <= set(P.PROGRAMS)
    assert (r["referral_source"] != "").all()
    admitted = r["outcome"] == "admitted"
    assert ((r["episode_id"] != "") == admitted).all()
    assert r.loc[admitted, "episode_id"].is_unique  # one admitted request per episode
    assert r["first_contact_date"].notna().all() and (r["first_contact_date"] <= DATA_END).all()
    has_intake = r["intake_assessment_date"].notna()
    assert (r.loc[has_intake, "intake_assessment_date"]
            >= r.loc[has_intake, "first_contact_date"]).all()
    assert (r.loc[has_intake, "intake_assessment_date"] <= DATA_END).all()
    j = r[admitted].merge(e[["episode_id", "patient_id", "admit_date", "referral_source"]],
                          on="episode_id", how="left", suffixes=("", "_episode"))
    assert j["admit_date"].notna().all()
    assert (j["admit_date"] >= j["first_contact_date"]).all()
    assert (j["patient_id"] == j["patient_id_episode"]).all()
    assert (j["referral_source"] == j["referral_source_episode"]).all()
    # Requests from patients never admitted use new numbers of the same shape.
    assert r["patient_id"].str.fullmatch(r"P\d{7}").all()


def test_enrollment_first_contact(medium):
    e, _, _, _ = medium
    empty = e["first_contact_date"] == ""
    assert len(NO_FIRST_CONTACT) == 1
    assert (empty == e["site"].isin(NO_FIRST_CONTACT)).all()
    assert (e["site"] == NO_FIRST_CONTACT[0]).sum() >= 0.15 * len(e)  # not the tiny site
    first = pd.to_datetime(e.loc[~empty, "first_contact_date"], format="%Y-%m-%d")
    assert (first <= e.loc[~empty, "admit_date"]).all()


def test_pending_only_for_recent_first_contacts(access):
    assert 0 <= access["oldest_pending_days"] < P.PENDING_DAYS


# ---- calibration -------------------------------------------------------------------

def test_referral_calibration(access):
    assert 0.50 <= access["admitted_share"] <= 0.67
    mix = access["outcome_mix"]
    assert set(mix) == set(P.REFERRAL_OUTCOMES)
    assert 5 <= access["median_wait_days"] <= 9
    assert 0.02 <= access["wait_over_30_share"] <= 0.12
    assert 0.5 <= access["intake_share"] < 1
    assert 0.8 <= access["intake_share_admitted"] < 1
    sites = access["admitted_share_by_site"]
    assert sites["Northgate"] - sites["Hillcrest"] > 0.08
    # Most episodes have their admitted request; only the site without first
    # contact dates has episodes without one.
    missing = access["episodes_without_referral_by_site"]
    assert {k for k, v in missing.items() if v} == set(NO_FIRST_CONTACT)
    assert 0.01 <= access["enrollment_first_contact_differs"] <= 0.12
    assert 0 < access["referral_site_differs"] < 0.08
    assert access["new_patients"] > 0


def test_assessment_volume_and_completion(scores):
    assert 4.2 <= scores["assessments_per_episode"] <= 6.2
    completion = scores["completion_by_site"]["phq9"]
    main_sites = [s.name for s in P.SITES if s.share > 0]
    rates = [completion[k] for k in main_sites]
    assert max(rates) < 0.9 and min(rates) > 0.1
    assert max(rates) - min(rates) > 0.1
    bam = scores["completion_by_site"]["bam_use"]
    assert {k for k, v in bam.items() if v > 0} == {
        name for name, m in P.SITE_MEASURES.items() if m.uses_bam} & set(bam)
    assert 0.1 <= scores["episodes_with_pre_admission_score"] <= 0.6
    assert scores["days_with_several_scores"] > 0.2


def test_baselines(scores):
    base = scores["baseline_mean"]
    assert 12.5 <= base["phq9"] <= 15.5
    assert 9.5 <= base["gad7"] <= 12.5
    assert 4 <= scores["baseline_sd"]["phq9"] <= 7
    assert base["bam_use"] > scores["last_mean"]["bam_use"]
    assert base["bam_protective"] < scores["last_mean"]["bam_protective"]


def test_improvement_grows_with_attendance(scores):
    by_third = scores["phq9_change_by_attendance_third"]
    assert scores["phq9_mean_change"] < -1.5
    assert by_third["high"] < by_third["low"] - 1.5
    assert 0.15 <= scores["phq9_reliable_improvement"] <= 0.5
    assert 0.01 <= scores["phq9_reliable_deterioration"] <= 0.1
    assert 0.01 <= scores["gad7_reliable_deterioration"] <= 0.1


def test_drug_screen_positivity_falls_over_program_weeks(medium):
    e, _, a, _ = medium
    j = a[a["instrument"] == "uds"].merge(e[["episode_id", "admit_date"]], on="episode_id")
    week = ((j["assessment_date"] - j["admit_date"]).dt.days.clip(lower=0) // 7)
    period = pd.cut(week, [-1, 1, 5, 11], labels=["weeks 1-2", "weeks 3-6", "weeks 7-12"])
    positivity = j.groupby(period, observed=True)["score"].mean()
    assert 0.3 <= positivity["weeks 1-2"] <= 0.6
    assert positivity["weeks 1-2"] > positivity["weeks 3-6"] + 0.05
    assert positivity["weeks 3-6"] > positivity["weeks 7-12"] + 0.03


# ---- FHIR ndjson -------------------------------------------------------------------

def test_fhir_observations_match_the_csv_row_for_row(medium_dir, medium):
    e, _, a, _ = medium
    con = duckdb.connect()
    obs = con.execute(
        "SELECT id, resourceType, status, code.coding[1].system AS system, "
        "code.coding[1].code AS code, subject.reference AS subject, "
        "effectiveDateTime::VARCHAR AS effective, valueInteger AS score "
        "FROM read_json(?, format = 'newline_delimited', records = true)",
        [str(medium_dir / "fhir" / "Observation.ndjson")]).df()
    con.close()
    expected = a.merge(e[["episode_id", "patient_id"]], on="episode_id", how="left")
    assert len(obs) == len(expected)
    assert (obs["id"] == expected["assessment_id"]).all()
    assert (obs["resourceType"] == "Observation").all() and (obs["status"] == "final").all()
    assert (obs["subject"] == "Patient/" + expected["patient_id"]).all()
    assert (obs["score"] == expected["score"]).all()
    loinc = {"phq9": ("http://loinc.org", "44261-6"), "gad7": ("http://loinc.org", "70274-6")}
    want = expected["instrument"].map(lambda i: loinc.get(i, ("urn:iop:instrument", i)))
    assert (obs["system"] == want.str[0]).all() and (obs["code"] == want.str[1]).all()


def test_fhir_effective_times_keep_the_date_and_an_offset(medium_dir, medium):
    _, _, a, _ = medium
    lines = (medium_dir / "fhir" / "Observation.ndjson").read_text(encoding="utf-8").splitlines()
    effective = pd.Series([re.search(r'"effectiveDateTime":"([^"]+)"', x).group(1) for x in lines])
    assert effective.str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00-0[45]:00").all()
    assert (effective.str[:10] == a["assessment_date"].dt.strftime("%Y-%m-%d")).all()
    # US Eastern: -04:00 in July, -05:00 in January.
    month = a["assessment_date"].dt.month
    assert (effective[month == 7].str.endswith("-04:00")).all()
    assert (effective[month == 1].str.endswith("-05:00")).all()


def test_fhir_patients(medium_dir, medium):
    e, _, _, _ = medium
    con = duckdb.connect()
    patients = con.execute(
        "SELECT id, identifier[1].system AS system, identifier[1].value AS value, gender "
        "FROM read_json(?, format = 'newline_delimited', records = true)",
        [str(medium_dir / "fhir" / "Patient.ndjson")]).df()
    con.close()
    assert sorted(patients["id"]) == sorted(e["patient_id"].unique())
    assert (patients["system"] == "urn:iop:mrn").all()
    assert (patients["value"] == patients["id"]).all()
    sex = e.drop_duplicates("patient_id").set_index("patient_id")["sex"]
    assert (patients["gender"] == patients["id"].map(sex)).all()
