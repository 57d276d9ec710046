"""The summary and `python -m analytics metrics`: against a second (pandas) implementation
on generated data, the JSON contract, errors, empty selections, and properties."""
from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import add_enrollments, add_sessions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.metrics import summary as metrics
from analytics.metrics.breakdowns import UnknownColumnError
from analytics.filters import Filters, Scope
from analytics.store import Store
from benchmarks.pandas_baseline import load_frames, pandas_summary
from tests.support import run_analytics

REQUIRED_KEYS = {
    "as_of", "episodes", "active_episodes", "completion_rate", "median_los_days", "retention",
    "in_program", "attendance_rate", "no_show_rate", "session_completion_rate", "therapy_mix",
    "episode_weeks", "median_weekly_hours", "dose_target_met_rate",
}


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory):
    """A store imported (by the real importer) from 400 generated episodes."""
    from analytics.ingest.importer import import_files
    from sample_data.generate import generate, write_csv

    out = tmp_path_factory.mktemp("generated")
    written = write_csv(generate(400, seed=7), out)
    store = Store(str(out / "store.duckdb"))
    import_files(store, [written.enrollments, written.sessions] if hasattr(written, "enrollments")
                 else [out / "enrollments.csv", out / "sessions.csv"])
    yield store
    store.close()


def _close(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _close(a[k], b[k])
    elif a is None or b is None or isinstance(a, str):
        assert a == b
    else:
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("as_of", [None, date(2026, 3, 31)])
def test_summary_agrees_with_pandas_implementation(generated_store, as_of):
    expected = pandas_summary(*load_frames(generated_store), as_of=as_of)
    got = metrics.summary(generated_store, Filters(as_of=as_of)).to_dict()
    assert got["episodes"] > 100 and got["episode_weeks"] > 100  # a real workload
    for key, value in expected.items():
        _close(got[key], value)


def _cli(*args, db):
    return run_analytics("metrics", "--db", str(db), *args, timeout=300)


def test_cli_json_matches_summary_and_text_format(generated_store):
    proc = _cli("--format", "json", "--site", "Riverside", db=generated_store.target)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert REQUIRED_KEYS <= set(printed)
    assert set(printed["retention"]) == {"week_4", "week_8", "week_12"} == set(printed["in_program"])
    assert printed == metrics.summary(generated_store, Filters(sites=("Riverside",))).to_dict()
    assert 0 < printed["episodes"] < metrics.summary(generated_store).episodes
    text = _cli("--format", "text", "--as-of", "2026-01-31", db=generated_store.target)
    assert text.returncode == 0
    assert "as_of: 2026-01-31" in text.stdout.splitlines()
    assert any(line.startswith("retention.week_4: 0.") for line in text.stdout.splitlines())


def test_cli_unknown_filter_column_is_one_line_exit_2(generated_store):
    proc = _cli("--filter", "favourite_colour=blue", db=generated_store.target)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "favourite_colour" in lines[0] and "payer" in lines[0]
    assert proc.stdout == ""


def test_cli_empty_selection_prints_nulls(generated_store):
    proc = _cli("--filter", "payer=No such payer", db=generated_store.target)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["episodes"] == 0 and out["as_of"] is not None
    for key in ("completion_rate", "median_los_days", "attendance_rate", "no_show_rate",
                "session_completion_rate", "median_weekly_hours", "dose_target_met_rate"):
        assert out[key] is None, key
    assert out["retention"] == {"week_4": None, "week_8": None, "week_12": None}
    assert out["therapy_mix"] == {} and out["episode_weeks"] == 0


def test_summary_hand_worked_small_store(store):
    add_enrollments(store, [
        ("e1", "p1", "N", "Adult IOP", "2024-01-01", "2024-01-01", "dropped_out", 8, {"payer": "A"}),
        ("e2", "p2", "N", "Adult IOP", "2024-01-01", "2024-01-31", "completed", 8, {"payer": "B"}),
        ("e3", "p3", "N", "Adult IOP", "2024-01-01", None, None, 8, {"payer": "A"}),
    ])
    add_sessions(store, [
        ("s1", "e2", "2024-01-02", "group", "c", 180, 180, "attended"),
        ("s2", "e2", "2024-01-03", "individual", "c", 60, 30, "attended"),   # not completed (< 54)
        ("s3", "e2", "2024-01-04", "group", "c", 180, 0, "no_show"),
        ("s4", "e2", "2024-01-05", "group", "c", 180, 0, "program_cancelled"),
        ("s5", "e3", "2024-02-10", "group", "c", 180, 180, "attended"),
    ])
    s = metrics.summary(store)
    # as_of = Feb 10 (the last session); e3 censored at day 40
    assert s.as_of == date(2024, 2, 10)
    assert (s.episodes, s.active_episodes, s.discharged) == (3, 1, 2)
    assert s.completion_rate == pytest.approx(0.5) and s.median_los_days == pytest.approx(15.0)
    # t=0: 1 of 3 unplanned -> retention 2/3 thereafter; KM: t=0 2/3, t=30 (n=2, 1 other) 1/3
    assert s.retention["week_4"] == pytest.approx(2 / 3)
    assert s.in_program["week_4"] == pytest.approx(2 / 3) and s.in_program["week_8"] is None
    # expected 4 (s4 is the program's cancellation): attended 3, no-show 1, completed 2
    assert s.attendance_rate == pytest.approx(3 / 4) and s.no_show_rate == pytest.approx(1 / 4)
    assert s.session_completion_rate == pytest.approx(2 / 4)
    assert s.therapy_mix == pytest.approx({"group": 360 / 390, "individual": 30 / 390})
    with pytest.raises(UnknownColumnError, match="known columns: payer"):
        metrics.summary(store, Filters(extra=(("payor", "A"),)))
    only_a = metrics.summary(store, Filters(extra=(("payer", "A"),)))
    assert only_a.episodes == 2 and only_a.attendance_rate == pytest.approx(1.0)
    scoped = metrics.summary(store, Filters(), Scope(allowed_sites=("S",)))
    assert scoped.episodes == 0 and scoped.completion_rate is None


episode_rows = st.lists(
    st.tuples(
        st.integers(0, 60),                      # admit day
        st.one_of(st.none(), st.integers(0, 120)),  # length of stay (None: active)
        st.sampled_from(["completed", "dropped_out", "terminated", "transferred", "other"]),
        st.lists(st.tuples(st.integers(0, 100), st.sampled_from(["group", "individual", "family"]),
                           st.integers(0, 180),
                           st.sampled_from(["attended", "no_show", "patient_cancelled", "program_cancelled"])),
                 max_size=6),
    ),
    min_size=1, max_size=12,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(episode_rows, st.integers(0, 200))
def test_summary_properties(rows, as_of_day):
    start = date(2024, 1, 1)
    enr, ses = [], []
    for i, (admit, los, reason, sessions) in enumerate(rows):
        discharge = None if los is None else start + timedelta(days=admit + los)
        enr.append((f"e{i}", f"p{i % 4}", "N", "Adult IOP", start + timedelta(days=admit), discharge,
                    None if los is None else reason))
        for j, (day, kind, minutes, status) in enumerate(sessions):
            attended = minutes if status == "attended" else 0
            ses.append((f"s{i}_{j}", f"e{i}", start + timedelta(days=admit + day), kind, "c", 180,
                        attended, status))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "p.duckdb"))
        add_enrollments(store, enr)
        add_sessions(store, ses)
        s = metrics.summary(store, Filters(as_of=start + timedelta(days=as_of_day))).to_dict()
        store.close()
    rates = [s[k] for k in ("completion_rate", "attendance_rate", "no_show_rate",
                            "session_completion_rate", "dose_target_met_rate")]
    rates += list(s["retention"].values()) + list(s["in_program"].values())
    assert all(r is None or 0.0 <= r <= 1.0 for r in rates)
    kept = [v for v in s["retention"].values() if v is not None]
    assert all(a >= b - 1e-12 for a, b in zip(kept, kept[1:]))  # retention never rises
    staying = [v for v in s["in_program"].values() if v is not None]
    assert all(a >= b - 1e-12 for a, b in zip(staying, staying[1:]))
    for w in ("week_4", "week_8", "week_12"):  # in program <= not yet lost to an unplanned end
        if s["retention"][w] is not None:
            assert s["in_program"][w] <= s["retention"][w] + 1e-12
    if s["therapy_mix"]:
        assert sum(s["therapy_mix"].values()) == pytest.approx(1.0)
    assert s["active_episodes"] <= s["episodes"]
