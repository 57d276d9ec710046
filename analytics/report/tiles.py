"""The KPI tiles of the Overview page and the QI packet: their values, their suppression, their status.

kpi_values() gathers the figures from the functions that define them, with the
counts behind them; hide_tile_values() is the one suppression rule for tiles
(declared on kpi_values, so an analyst's Overview and the packet hide the same).

>>> tiles = suppressed_tiles(kpi_values(cur), threshold=11)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.metrics import discharges, dose, intake, retention, sessions
from analytics.privacy.suppression import (
    RateSpec, SuppressionSpec, is_hidden, suppress_kpis, suppressed_by, suppression_of,
)
from analytics.qi import targets


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: object  # number, None or a suppression marker
    kind: str  # a kind of analytics.formatting: "count", "rate", "hours"
    status: str | None  # green / amber / red / None
    target: str = ""


# The packet's tiles, in order: key -> (label, kind)
TILE_LABELS = {
    "active_episodes": ("Active census", "count"),
    "episodes": ("Episodes", "count"),
    "discharged": ("Discharged", "count"),
    "completion_rate": ("Completion rate", "rate"),
    "retention_week_4": ("Retention at week 4", "rate"),
    "retention_week_8": ("Retention at week 8", "rate"),
    "retention_week_12": ("Retention at week 12", "rate"),
    "attendance_rate": ("Attendance rate", "rate"),
    "no_show_rate": ("No-show rate", "rate"),
    "dose_target_met_rate": ("Dose target met (weeks)", "rate"),
    "median_weekly_hours": ("Median weekly hours", "hours"),
    "median_wait_days": ("Median wait (first contact to care)", "days"),
    "continuation_day_4": ("Continuation to day 4 of care", "rate"),
}
# Episode counts and the rates built on them; the session and dose figures rest on their own patients.
EPISODE_SPEC = SuppressionSpec(
    counts=("active_episodes", "episodes", "discharged"),
    rates=(RateSpec("completion_rate", "completed", "discharged"), RateSpec("retention_week_4"),
           RateSpec("retention_week_8"), RateSpec("retention_week_12")),
    group_size="patients", column_totals=False,
    # episodes = active + discharged: one hidden alone could be worked out
    row_groups=(("active_episodes", "discharged", "episodes"),),
)
# The access tiles are suppressed by the access summary's own rules (each rests on its
# own episodes and patients).
ACCESS_TILES = ("median_wait_days", "continuation_day_4")
ACCESS_SPECS = (intake.SUMMARY_WAIT_SPEC, intake.SUMMARY_CONTINUATION_SPEC)


GROUPS = {"attendance_rate": "session_patients", "no_show_rate": "session_patients",
          "dose_target_met_rate": "dose_patients", "median_weekly_hours": "dose_patients"}


def hide_tile_values(values: dict[str, object], *args: Any, threshold: int | None = None,
                     **kwargs: Any) -> dict[str, object]:
    """kpi_values() with every value the tiles may not show replaced by '<threshold'."""
    shown = suppress_kpis(values, EPISODE_SPEC, threshold)
    for rate, group in GROUPS.items():
        part = suppress_kpis({rate: values[rate], "g": values[group]},
                             SuppressionSpec(rates=(RateSpec(rate),), group_size="g", column_totals=False), threshold)
        shown[rate] = part[rate]
    if is_hidden(shown["completion_rate"]):
        shown["median_los_days"] = shown["completion_rate"]  # the same discharged episodes
    # the access tiles rest on their own episodes and patients
    for spec in ACCESS_SPECS:
        part = suppress_kpis({f: values.get(f) for f in intake.spec_fields(spec)}, spec, threshold)
        shown.update({k: v for k, v in part.items() if k in ACCESS_TILES})
    return shown


@suppressed_by(hide=hide_tile_values)
def kpi_values(cur) -> dict[str, object]:
    """The overview KPIs and the counts behind them, from the functions that define them."""
    counts = retention.event_counts(cur)
    out = discharges.outcome_summary(cur, counts)
    ret, _ = retention.headline(cur, (4, 8, 12), counts=counts) if out.episodes else ({}, {})
    rates = sessions.session_rates(cur)
    dosage = dose.dose_summary(cur)
    access = intake.episode_figures(cur)
    return {
        "active_episodes": out.active_episodes, "episodes": out.episodes, "discharged": out.discharged,
        "completed": out.completed, "completion_rate": out.completion_rate,
        "median_los_days": out.median_los_days,
        "retention_week_4": ret.get("week_4"), "retention_week_8": ret.get("week_8"),
        "retention_week_12": ret.get("week_12"),
        "attendance_rate": rates.attendance_rate, "no_show_rate": rates.no_show_rate,
        "dose_target_met_rate": dosage.dose_target_met_rate,
        "median_weekly_hours": dosage.median_weekly_hours,
        "patients": out.patients, "session_patients": rates.patients, "dose_patients": dosage.patients,
        **{k: access[k] for spec in ACCESS_SPECS for k in intake.spec_fields(spec)},
    }


def suppressed_tiles(values: dict[str, object], threshold: int) -> list[Tile]:
    """The packet's KPI tiles with suppression applied and target status for what is shown."""
    shown = suppression_of(kpi_values).apply(values, threshold=threshold)
    tiles = []
    for key, (label, kind) in TILE_LABELS.items():
        value = shown.get(key)
        target = targets.target_for(key)
        tiles.append(Tile(key, label, value, kind, None if is_hidden(value) else targets.status(key, value),
                          target.describe() if target else ""))
    return tiles
