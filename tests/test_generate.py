"""The synthetic data generator: determinism, canonical format, invariants, realism.

Figures are read back from the written CSVs with pandas (sample_data/figures.py
and plain pandas below), independently of the numpy code that drew them.
"""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.store.schema import DISCHARGE_REASONS, SESSION_STATUSES, SESSION_TYPES
from sample_data import SAMPLE_DIR, SAMPLE_EPISODES, SAMPLE_FILES, SAMPLE_OPTIONS, SAMPLE_SEED
from sample_data import parameters as P
from sample_data.draws import codes_from_p, to_weekday
from sample_data.figures import read_exports, realism_figures
from sample_data.generate import main
from tests.support import REPO_ROOT
from tests.test_generate_full import ASSESSMENT_HEADER, FULL_ENROLLMENT_HEADER, REFERRAL_HEADER

DATA_END = pd.Timestamp(P.DATA_END)
ENROLLMENT_HEADER = ("episode_id,patient_id,site,program,admit_date,discharge_date,"
                     "discharge_reason,planned_weeks,payer,referral_source,"
                     "primary_substance,age_group,sex")
SESSION_HEADER = ("session_id,episode_id,session_date,session_type,clinician,"
                  "scheduled_minutes,attended_minutes,status")
DOCUMENTED_COMMAND = (f"python -m sample_data.generate --episodes {SAMPLE_EPISODES} "
                      f"--seed {SAMPLE_SEED} --out sample_data {' '.join(SAMPLE_OPTIONS)}")
# the committed sample: every export the generator writes with --full (not the FHIR files)
SAMPLE_NAMES = ("enrollments.csv", "sessions.csv", "assessments.csv", "referrals.csv")


def run(out: Path, episodes: int, seed: int) -> Path:
    assert main(["--episodes", str(episodes), "--seed", str(seed), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """3,000 episodes (about 100,000 sessions): enough for stable rates."""
    return read_exports(run(tmp_path_factory.mktemp("medium"), 3000, 11))


@pytest.fixture(scope="module")
def figures(medium) -> dict:
    return realism_figures(*medium, DATA_END)


# ---- determinism and the committed sample ----------------------------------

def test_same_seed_gives_identical_bytes(tmp_path):
    a, b = run(tmp_path / "a", 300, 5), run(tmp_path / "b", 300, 5)
    c = run(tmp_path / "c", 300, 6)
    for name in ("enrollments.csv", "sessions.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()


def test_committed_sample_is_what_the_documented_command_writes(tmp_path):
    doc = (REPO_ROOT / "docs" / "sample-data.md").read_text(encoding="utf-8")
    assert DOCUMENTED_COMMAND in doc
    # The documented command, run as a user would, writing to a scratch directory.
    args = DOCUMENTED_COMMAND.split()[1:]
    args[args.index("--out") + 1] = str(tmp_path)
    done = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"wrote {SAMPLE_EPISODES} rows" in done.stdout
    assert tuple(f.name for f in SAMPLE_FILES) == SAMPLE_NAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SAMPLE_NAMES)  # nothing left out
    for name in SAMPLE_NAMES:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
        assert (SAMPLE_DIR / name).stat().st_size < 2_000_000


# ---- canonical format --------------------------------------------------------

@pytest.mark.parametrize("name, header", [("enrollments.csv", FULL_ENROLLMENT_HEADER),
                                          ("sessions.csv", SESSION_HEADER),
                                          ("assessments.csv", ASSESSMENT_HEADER),
                                          ("referrals.csv", REFERRAL_HEADER)])
def test_files_are_utf8_lf_with_the_canonical_header(name, header):
    raw = (SAMPLE_DIR / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
    text = raw.decode("utf-8")
    assert text.split("\n", 1)[0] == header
    assert text.endswith("\n")


def test_without_full_the_generator_writes_enrollments_and_sessions_only(tmp_path):
    out = run(tmp_path, 300, 5)
    assert sorted(p.name for p in out.iterdir()) == ["enrollments.csv", "sessions.csv"]
    assert (out / "enrollments.csv").read_text().split("\n", 1)[0] == ENROLLMENT_HEADER


def test_dates_are_iso_and_vocabularies_canonical():
    e, s = (pd.read_csv(SAMPLE_DIR / n, dtype=str, keep_default_na=False)
            for n in ("enrollments.csv", "sessions.csv"))
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    assert e["admit_date"].map(iso.match).all()
    assert e.loc[e["discharge_date"] != "", "discharge_date"].map(iso.match).all()
    assert e.loc[e["first_contact_date"] != "", "first_contact_date"].map(iso.match).all()
    assert s["session_date"].map(iso.match).all()
    assert set(e["discharge_reason"]) - {""} <= set(DISCHARGE_REASONS)
    assert set(e["program"]) == {"Adult IOP", "Adolescent IOP"}
    assert set(s["status"]) == set(SESSION_STATUSES)
    assert set(SESSION_TYPES) < set(s["session_type"])  # all five, plus others
    assert set(s["session_type"]) - set(SESSION_TYPES) == {"case_management"}
    assert s["clinician"].str.fullmatch(r"Clinician [A-Z]\d{2}").all()
    assert e["planned_weeks"].astype(int).between(8, 12).all()
    for col in ("payer", "referral_source", "primary_substance", "age_group", "sex"):
        assert (e[col] != "").all()


# ---- invariants (on the medium run) -------------------------------------------

def test_ids_unique_and_sessions_match_an_episode(medium):
    e, s = medium
    assert e["episode_id"].is_unique and s["session_id"].is_unique
    assert s["episode_id"].isin(e["episode_id"]).all()


def test_discharge_fields_and_dates(medium):
    e, _ = medium
    has_date = e["discharge_date"].notna()
    assert (has_date == (e["discharge_reason"] != "")).all()
    assert (e.loc[has_date, "discharge_date"] >= e.loc[has_date, "admit_date"]).all()
    assert (e["admit_date"] <= DATA_END).all()
    assert (e["discharge_date"].dropna() <= DATA_END).all()
    assert (e["admit_date"] >= DATA_END - pd.Timedelta(days=P.ADMISSION_WINDOW_DAYS)).all()


def test_sessions_within_their_episode(medium):
    e, s = medium
    j = s.merge(e[["episode_id", "admit_date", "discharge_date"]], on="episode_id")
    assert (j["session_date"] >= j["admit_date"]).all()
    assert (j["session_date"] <= j["discharge_date"].fillna(DATA_END)).all()


def test_minutes(medium):
    _, s = medium
    assert (s["scheduled_minutes"] > 0).all()
    assert (s.loc[s["status"] != "attended", "attended_minutes"] == 0).all()
    assert (s["attended_minutes"] <= s["scheduled_minutes"]).all()
    assert (s["attended_minutes"] >= 0).all()
    # Session days last 1 to 3 hours.
    per_day = s.groupby(["episode_id", "session_date"])["scheduled_minutes"].sum()
    assert per_day.between(60, 180).all()


def test_session_days_per_week(medium):
    e, s = medium
    # Every week between the intake week and the last one has 3 or 4 session
    # days (holiday sessions are kept, as program_cancelled).
    j = s.merge(e[["episode_id", "admit_date"]], on="episode_id")
    j["week"] = (j["session_date"] - j["admit_date"]).dt.days // 7
    last_week = j.groupby("episode_id")["week"].transform("max")
    full = j[(j["week"] >= 1) & (j["week"] < last_week)]  # the last week may be partial
    days = full.groupby(["episode_id", "week"])["session_date"].nunique()
    assert set(days.unique()) == {3, 4}


def test_readmissions_follow_an_earlier_discharge(medium):
    e, _ = medium
    multi = e[e.duplicated("patient_id", keep=False)].sort_values(["patient_id", "admit_date"])
    assert len(multi) > 0
    prev = multi.groupby("patient_id").shift(1)
    later = prev["admit_date"].notna()
    assert prev.loc[later, "discharge_date"].notna().all()
    assert (multi.loc[later, "admit_date"] > prev.loc[later, "discharge_date"]).all()
    assert (prev.loc[later, "discharge_reason"] != "death").all()


# ---- realism (on the medium run) ----------------------------------------------

def test_discharge_mix_and_length_of_stay(figures):
    mix = figures["discharge_mix"]
    assert 0.30 <= mix["completed"] <= 0.45
    assert 0.15 <= mix["dropped_out"] <= 0.32
    assert 0.10 <= mix["transferred"] <= 0.25
    assert 0.08 <= mix["terminated"] <= 0.20
    assert 0 < mix["incarcerated"] + mix.get("death", 0) < 0.05
    assert 33 <= figures["median_los"] <= 48
    assert 45 <= figures["median_los_completed"] <= 60
    assert figures["median_los_dropped_out"] < figures["median_los_completed"] / 2 + 5
    assert figures["unplanned_hazard_peak_week"] in (1, 2, 3, 4)


def test_attendance(figures):
    assert 0.15 <= figures["no_show_rate"] <= 0.30
    assert 0.01 <= figures["status_mix"]["program_cancelled"] <= 0.08
    assert 0.02 <= figures["status_mix"]["patient_cancelled"] <= 0.08
    assert 0.03 <= figures["partial_share_of_attended"] <= 0.12
    types = figures["type_mix"]
    assert max(types, key=types.get) == "group"
    assert 0 < types["case_management"] < 0.06
    assert 0 < figures["adult_share_under_9h_weekly"] < 1


def test_sites_and_clinicians_differ(figures):
    sites = figures["episodes_by_site"]
    assert len(sites) == 5 and min(sites.values()) < 10
    rates = figures["no_show_rate_by_site"]
    big = [k for k, v in sites.items() if v >= 100]
    assert max(rates[k] for k in big) - min(rates[k] for k in big) > 0.06
    unplanned = figures["unplanned_share_by_site"]
    assert max(unplanned[k] for k in big) - min(unplanned[k] for k in big) > 0.06
    assert figures["active_episodes"] > 0 and figures["readmitted_patients"] > 0


def test_clinician_no_show_rates_spread(medium):
    _, s = medium
    own = s[s["session_type"] == "individual"].groupby("clinician")["status"]
    rates = own.apply(lambda x: (x == "no_show").mean())[own.size() >= 200]
    assert rates.max() - rates.min() > 0.08


def test_one_site_lags_three_weeks(figures):
    last = {k: pd.Timestamp(v) for k, v in figures["last_session_by_site"].items()}
    lagging = [s.name for s in P.SITES if s.session_lag]
    assert len(lagging) == 1
    assert last[lagging[0]] <= DATA_END - pd.Timedelta(days=P.LAG_DAYS)
    for site, day in last.items():
        if site not in lagging:
            assert day >= DATA_END - pd.Timedelta(days=7), site


# ---- small hand-worked cases --------------------------------------------------

def test_codes_from_p_boundaries():
    u = np.array([0.0, 0.2999, 0.3001, 0.8999, 0.9001, 0.99999])
    assert codes_from_p(u, (0.3, 0.6, 0.1)).tolist() == [0, 0, 1, 1, 2, 2]
    # Probabilities need not sum to 1: they are normalised.
    assert codes_from_p(np.array([0.49, 0.51]), (2, 2)).tolist() == [0, 1]


def test_to_weekday_moves_weekends():
    def n(d):
        return (d - dt.date(1970, 1, 1)).days
    sat, sun, mon = dt.date(2026, 10, 24), dt.date(2026, 10, 25), dt.date(2026, 10, 26)
    got = to_weekday(np.array([n(sat), n(sun), n(mon)]), n(dt.date(2026, 10, 31)))
    assert got.tolist() == [n(mon)] * 3
    # A Saturday on the last day goes back to Friday, not forward past the end.
    last = dt.date(2026, 10, 31)
    assert to_weekday(np.array([n(last)]), n(last)).tolist() == [n(dt.date(2026, 10, 30))]


def test_holidays():
    days = P.us_holidays(2025, 2026)
    for d in (dt.date(2025, 11, 27), dt.date(2026, 11, 26), dt.date(2025, 5, 26),
              dt.date(2026, 9, 7), dt.date(2025, 12, 25)):
        assert d in days


def test_cli_rejects_zero_episodes(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--episodes", "0", "--seed", "1", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--episodes must be at least 1" in capsys.readouterr().err
