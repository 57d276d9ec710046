"""Target status against the config's targets, hand-checked at and around each boundary."""
from __future__ import annotations

import pytest

from analytics.qi import targets


@pytest.mark.parametrize("metric,value,expected", [
    ("attendance_rate", 0.80, "green"),   # >= 0.80 met on the line
    ("attendance_rate", 0.79, "amber"),   # within 0.05 below
    ("attendance_rate", 0.75, "amber"),   # exactly the margin
    ("attendance_rate", 0.7499, "red"),
    ("no_show_rate", 0.19, "green"),      # < 0.20
    ("no_show_rate", 0.20, "amber"),      # strict target missed on the line
    ("no_show_rate", 0.25, "amber"),
    ("no_show_rate", 0.26, "red"),
    ("retention_week_4", 0.90, "green"),
    ("retention_week_4", 0.70, "red"),
    ("dose_target_met_rate", 0.71, "amber"),  # margin 0.10
    ("dose_target_met_rate", 0.69, "red"),
    ("measurement_completion_rate", 0.80, "green"),  # >= 0.80, margin 0.10
    ("measurement_completion_rate", 0.71, "amber"),
    ("measurement_completion_rate", 0.69, "red"),
    ("reliable_improvement_rate", 0.50, "green"),    # >= 0.50, margin 0.10
    ("reliable_improvement_rate", 0.41, "amber"),
    ("reliable_improvement_rate", 0.39, "red"),
])
def test_status(metric, value, expected):
    assert targets.status(metric, value) == expected


def test_no_status_without_target_or_value():
    assert targets.status("active_census", 40) is None
    assert targets.status("attendance_rate", None) is None
    assert targets.status("attendance_rate", float("nan")) is None
    assert targets.status("attendance_rate", "<11") is None  # a suppressed cell


def test_targets_read_from_config(tmp_path, monkeypatch):
    from analytics.config import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text().replace(
        'attendance_rate = { op = ">=", value = 0.80, amber_margin = 0.05 }',
        'attendance_rate = { op = ">=", value = 0.90, amber_margin = 0.02 }',
    )
    cfg = tmp_path / "iop.toml"
    cfg.write_text(text)
    monkeypatch.setenv("IOP_CONFIG", str(cfg))
    assert targets.target_for("attendance_rate").value == 0.90
    assert targets.status("attendance_rate", 0.87) == "red"
    assert targets.target_for("attendance_rate").describe() == "target: at least 90%"


def test_dose_hours_target_only_when_programs_agree():
    assert targets.dose_hours_target(["Adult IOP"]) == 9.0
    assert targets.dose_hours_target(["Adolescent IOP"]) == 6.0
    assert targets.dose_hours_target(["Adult IOP", "Adolescent IOP"]) is None
