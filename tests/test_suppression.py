"""Small-cell suppression: primary, complementary, rates, threshold, against hand-worked tables."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics.privacy.suppression import RateSpec, SuppressionSpec, marker, suppress_kpis, suppress_table, suppression_mask

SITES_SPEC = SuppressionSpec(
    counts=("patients", "episodes"),
    rates=(RateSpec("completion_rate", "completed", "discharged"), RateSpec("attendance_rate")),
    group_size="patients",
)


def _sites():
    return pd.DataFrame({
        "site": ["North", "South", "Tiny", "West"],
        "patients": [110, 130, 4, 150],
        "episodes": [120, 140, 4, 160],
        "completed": [60, 70, 2, 0],
        "discharged": [80, 90, 3, 40],
        "completion_rate": [0.75, 70 / 90, 2 / 3, 0.0],
        "attendance_rate": [0.81, 0.79, 0.9, 0.85],
    })


def test_small_site_count_and_its_rates_are_hidden():
    out = suppress_table(_sites(), SITES_SPEC, threshold=11).set_index("site")
    assert out.loc["Tiny", "episodes"] == "<11"
    assert out.loc["Tiny", "completed"] == "<11"
    assert out.loc["Tiny", "discharged"] == "<11"
    assert out.loc["Tiny", "completion_rate"] == "<11"  # derived from hidden counts
    assert out.loc["Tiny", "attendance_rate"] == "<11"  # session rate, group of 4 patients
    assert out.loc["Tiny", "patients"] == "<11"


def test_complementary_suppression_hides_the_next_smallest_in_each_column():
    out = suppress_table(_sites(), SITES_SPEC, threshold=11).set_index("site")
    # episodes: Tiny (4) alone would be total - others, so the next smallest, North (120), goes too.
    assert out.loc["North", "episodes"] == "<11"
    assert out.loc["South", "episodes"] == 140 and out.loc["West", "episodes"] == 160
    # completed: Tiny (2) hidden; West's 0 is shown and never picked; next smallest is North (60).
    assert out.loc["West", "completed"] == 0
    assert out.loc["North", "completed"] == "<11"
    assert out.loc["South", "completed"] == 70
    # discharged: Tiny (3) hidden; next smallest West (40).
    assert out.loc["West", "discharged"] == "<11"
    # A rate whose count is hidden is hidden too (else count = rate x other count).
    assert out.loc["North", "completion_rate"] == "<11"
    assert out.loc["West", "completion_rate"] == "<11"
    assert out.loc["South", "completion_rate"] == pytest.approx(70 / 90)
    # No column is left with exactly one hidden cell.
    mask = suppression_mask(_sites(), SITES_SPEC, threshold=11)
    for col in ("episodes", "completed", "discharged"):
        assert mask[col].sum() != 1


def test_threshold_is_configurable():
    df = pd.DataFrame({"site": ["A", "B", "C"], "episodes": [7, 30, 40]})
    spec = SuppressionSpec(counts=("episodes",))
    at11 = suppress_table(df, spec, threshold=11)
    at5 = suppress_table(df, spec, threshold=5)
    assert at11["episodes"].tolist() == ["<11", "<11", 40]
    assert at5["episodes"].tolist() == [7, 30, 40]
    df4 = pd.DataFrame({"site": ["A", "B", "C"], "episodes": [4, 30, 40]})
    assert suppress_table(df4, spec, threshold=5)["episodes"].tolist() == ["<5", "<5", 40]


def test_threshold_from_config(tmp_path, monkeypatch):
    cfg = tmp_path / "iop.toml"
    cfg.write_text((__import__("analytics.config", fromlist=["x"]).DEFAULT_CONFIG).read_text()
                   .replace("threshold = 11", "threshold = 5"))
    monkeypatch.setenv("IOP_CONFIG", str(cfg))
    assert marker() == "<5"
    out = suppress_table(pd.DataFrame({"episodes": [3]}), SuppressionSpec(counts=("episodes",)))
    assert out["episodes"].tolist() == ["<5"]


def test_zero_shown_and_hidden_never_zero_or_blank():
    df = pd.DataFrame({"site": ["A", "B"], "episodes": [0, 5]})
    out = suppress_table(df, SuppressionSpec(counts=("episodes",), column_totals=False), threshold=11)
    assert out["episodes"].tolist() == [0, "<11"]
    assert out["episodes"].dtype == object


def test_total_row_is_never_the_complementary_cell():
    df = pd.DataFrame({"site": ["A", "B", "C", "All"], "episodes": [3, 50, 60, 113]})
    spec = SuppressionSpec(counts=("episodes",), total_row=("site", "All"))
    out = suppress_table(df, spec, threshold=11)
    assert out["episodes"].tolist() == ["<11", "<11", 60, 113]


def test_row_group_complement():
    # attended + missed = scheduled patients shown: hiding 'missed' alone reveals it.
    df = pd.DataFrame({"site": ["A"], "attended": [40], "missed": [6], "cancelled": [20]})
    spec = SuppressionSpec(counts=("attended", "missed", "cancelled"), row_groups=(("attended", "missed", "cancelled"),))
    out = suppress_table(df, spec, threshold=11)
    assert out.iloc[0].tolist() == ["A", 40, "<11", "<11"]


def test_rate_with_small_complement_is_hidden():
    # 95 of 100 retained: the 5 who left could be worked out from the rate and n.
    df = pd.DataFrame({"retained": [95, 50], "admitted": [100, 100], "retention": [0.95, 0.5], "patients": [100, 100]})
    spec = SuppressionSpec(rates=(RateSpec("retention", "retained", "admitted"),), group_size="patients", column_totals=False)
    out = suppress_table(df, spec, threshold=11)
    assert out["retention"].tolist() == ["<11", 0.5]


def test_kpi_dict_suppression():
    kpis = {"active_census": 8, "admissions": 40, "completion_rate": 0.5, "completed": 5, "discharged": 10,
            "attendance_rate": 0.8, "patients": 60}
    spec = SuppressionSpec(counts=("active_census", "admissions"),
                           rates=(RateSpec("completion_rate", "completed", "discharged"), RateSpec("attendance_rate")),
                           group_size="patients")
    out = suppress_kpis(kpis, spec, threshold=11)
    assert out["active_census"] == "<11"
    assert out["admissions"] == 40
    assert out["completion_rate"] == "<11"
    assert out["attendance_rate"] == 0.8
