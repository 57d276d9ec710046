"""Statistical process control: p-charts (with Laney's p' option), XmR charts and their signals.

The chart functions are pure, over small per-period tables; the functions at
the end ("from the store") run analytics/sql/spc_*.sql on a cursor whose
filters are bound and return ready charts.

Conventions (also in docs/qi.md):
- Limits come from a baseline: the points whose period lies in
  [baseline_start, baseline_end] (inclusive; either end open by default).
  Points outside the baseline are judged against the baseline's limits.
- Rule 1: a point strictly beyond a 3-sigma limit.
- Rule 2 (shift): 8 or more consecutive points on the same side of the centre
  line. A point exactly on the centre line neither counts towards a run nor
  breaks it (Anhoej / Provost & Murray convention), so it is skipped.
- Periods with n = 0 have no proportion and are left out of the chart.

>>> chart = p_chart(pd.DataFrame({"period": [...], "x": [...], "n": [...]}))
>>> chart.signals
('Mar 2026: 61.2% is below the lower limit 64.0%', ...)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from analytics import formatting
from analytics.privacy.suppression import control_charts, suppress_control_chart, suppressed_by

SIGMA = 3.0
SHIFT_LENGTH = 8
D2 = 1.128  # bias constant d2 for moving ranges of 2 points
XMR_FACTOR = 2.66  # 3 / d2, the natural process limits of an XmR chart


@dataclass(frozen=True, eq=False)
class ControlChart:
    """A control chart: one row per period and the signals in words.

    points columns: period, label, x, n (None for XmR), value, cl, lcl, ucl,
    in_baseline, beyond (bool), shift (bool), signal (bool).
    """

    title: str
    kind: str  # "p", "p'" (Laney) or "xmr"
    points: pd.DataFrame
    centre: float | None
    signals: tuple[str, ...]
    value_kind: str = "proportion"  # "proportion" (shown as %), "hours" or "days"
    sigma_z: float | None = None  # Laney's between-period inflation factor
    baseline: tuple[object, object] = (None, None)
    metric: str = ""  # the metric name targets.py knows (for the target line), if any

    @property
    def empty(self) -> bool:
        return self.points.empty


# -- labels -----------------------------------------------------------------
def month_label(period: object) -> str:
    """'Mar 2026' for any date-like in March 2026."""
    return pd.Timestamp(period).strftime("%b %Y")


def week_label(period: object) -> str:
    """'wk 2 Mar 2026' for the week starting on that date."""
    ts = pd.Timestamp(period)
    return f"wk {ts.day} {ts.strftime('%b %Y')}"


def plain_label(period: object) -> str:
    return str(period)


def format_value(value: float, value_kind: str) -> str:
    """A chart value as text: a proportion as a rate, hours or days as themselves."""
    return formatting.number(value, "rate" if value_kind == "proportion" else value_kind)


# -- helpers ----------------------------------------------------------------
def _baseline_mask(periods: pd.Series, start: object, end: object) -> np.ndarray:
    mask = np.ones(len(periods), dtype=bool)
    if start is not None:
        mask &= (periods >= _coerce_like(start, periods)).to_numpy()
    if end is not None:
        mask &= (periods <= _coerce_like(end, periods)).to_numpy()
    return mask


def _coerce_like(value: object, periods: pd.Series) -> object:
    # Periods may be Timestamps (from DuckDB) while the user gives a date.
    if pd.api.types.is_datetime64_any_dtype(periods) and isinstance(value, (date, str)):
        return pd.Timestamp(value)
    return value


def shift_runs(values: Sequence[float], centre: float, length: int = SHIFT_LENGTH) -> list[tuple[list[int], int]]:
    """Each run of >= length points on one side of centre: (indices, side +1 above / -1 below).

    Points exactly on the centre line are skipped: they neither count nor break a run.
    >>> shift_runs([1, 1, 0, 1, -1], 0, length=3)
    [([0, 1, 3], 1)]
    """
    runs: list[tuple[list[int], int]] = []
    run: list[int] = []
    side = 0
    for i, v in enumerate(np.asarray(values, dtype=float)):
        if math.isclose(v, centre, rel_tol=0, abs_tol=1e-12):
            continue
        s = 1 if v > centre else -1
        if s != side:
            if len(run) >= length:
                runs.append((run, side))
            run, side = [], s
        run.append(i)
    if len(run) >= length:
        runs.append((run, side))
    return runs


def shift_flags(values: Sequence[float], centre: float, length: int = SHIFT_LENGTH) -> np.ndarray:
    """True for every point that belongs to a shift (see shift_runs)."""
    flags = np.zeros(len(values), dtype=bool)
    for idx, _ in shift_runs(values, centre, length):
        flags[idx] = True
    return flags


def _finish(
    title: str,
    kind: str,
    frame: pd.DataFrame,
    centre: float | None,
    value_kind: str,
    label: Callable[[object], str],
    sigma_z: float | None,
    baseline: tuple[object, object],
) -> ControlChart:
    frame = frame.copy()
    if centre is None or frame.empty:
        frame["beyond"] = False
        frame["shift"] = False
        frame["signal"] = False
        return ControlChart(title, kind, frame, centre, (), value_kind, sigma_z, baseline)
    values = frame["value"].to_numpy(dtype=float)
    above = values > frame["ucl"].to_numpy(dtype=float)
    below = values < frame["lcl"].to_numpy(dtype=float)
    frame["beyond"] = above | below
    frame["shift"] = shift_flags(values, centre)
    frame["signal"] = frame["beyond"] | frame["shift"]
    signals: list[str] = []
    for i in np.flatnonzero(frame["beyond"].to_numpy()):
        row = frame.iloc[i]
        where, limit = ("above the upper", row["ucl"]) if above[i] else ("below the lower", row["lcl"])
        signals.append(
            f"{row['label']}: {format_value(row['value'], value_kind)} is {where} limit "
            f"{format_value(limit, value_kind)}"
        )
    for idx, side in shift_runs(values, centre):
        signals.append(
            f"{frame['label'].iloc[idx[0]]} to {frame['label'].iloc[idx[-1]]}: {len(idx)} points in a row "
            f"{'above' if side > 0 else 'below'} the centre line {format_value(centre, value_kind)} (shift)"
        )
    return ControlChart(title, kind, frame, centre, tuple(signals), value_kind, sigma_z, baseline)


# -- charts -----------------------------------------------------------------
def p_chart(
    counts: pd.DataFrame,
    *,
    title: str = "",
    baseline_start: object = None,
    baseline_end: object = None,
    laney: bool = False,
    label: Callable[[object], str] = month_label,
) -> ControlChart:
    """A p-chart (or Laney p'-chart) from columns period, x (events), n (opportunities).

    Centre p̄ = Σx/Σn over the baseline; limits p̄ ± 3·σ_i, σ_i = sqrt(p̄(1-p̄)/n_i),
    clipped to [0, 1]. Laney: σ_i is multiplied by σ_z, the mean moving range
    of the baseline's z_i = (p_i - p̄)/σ_i divided by 1.128.
    """
    frame = counts.loc[counts["n"] > 0, ["period", "x", "n"]].sort_values("period").reset_index(drop=True)
    frame["x"] = frame["x"].astype(float)
    frame["n"] = frame["n"].astype(float)
    frame["label"] = [label(p) for p in frame["period"]]
    frame["value"] = frame["x"] / frame["n"]
    mask = _baseline_mask(frame["period"], baseline_start, baseline_end)
    frame["in_baseline"] = mask
    kind = "p'" if laney else "p"
    if not mask.any():
        for col in ("cl", "lcl", "ucl"):
            frame[col] = np.nan
        return _finish(title, kind, frame, None, "proportion", label, None, (baseline_start, baseline_end))
    pbar = frame.loc[mask, "x"].sum() / frame.loc[mask, "n"].sum()
    sigma = np.sqrt(pbar * (1 - pbar) / frame["n"].to_numpy())
    sigma_z = None
    if laney:
        sigma_z = laney_sigma_z(frame.loc[mask, "value"].to_numpy(), sigma[mask], pbar)
        sigma = sigma * sigma_z
    frame["cl"] = pbar
    frame["lcl"] = np.clip(pbar - SIGMA * sigma, 0.0, 1.0)
    frame["ucl"] = np.clip(pbar + SIGMA * sigma, 0.0, 1.0)
    return _finish(title, kind, frame, float(pbar), "proportion", label, sigma_z, (baseline_start, baseline_end))


def laney_sigma_z(p: np.ndarray, sigma_p: np.ndarray, pbar: float) -> float:
    """Laney's σ_z: mean moving range of z_i = (p_i - p̄)/σ_pi, divided by 1.128.

    With fewer than 2 points (or p̄ of 0 or 1) there is no moving range; 1.0 (a plain p-chart).
    """
    if len(p) < 2 or pbar <= 0 or pbar >= 1:
        return 1.0
    z = (np.asarray(p, dtype=float) - pbar) / np.asarray(sigma_p, dtype=float)
    return float(np.mean(np.abs(np.diff(z))) / D2)


def xmr_chart(
    values: pd.DataFrame,
    *,
    title: str = "",
    baseline_start: object = None,
    baseline_end: object = None,
    label: Callable[[object], str] = month_label,
    value_kind: str = "hours",
    floor: float | None = 0.0,
) -> ControlChart:
    """An XmR (individuals) chart from columns period, value.

    Centre = mean of the baseline values; limits centre ± 2.66·MR̄ where MR̄ is
    the mean absolute difference of consecutive baseline values. The lower limit
    is floored at `floor` (hours cannot be negative).
    """
    frame = values.loc[values["value"].notna(), ["period", "value"]].sort_values("period").reset_index(drop=True)
    frame["value"] = frame["value"].astype(float)
    frame["x"] = frame["value"]
    frame["n"] = np.nan
    frame["label"] = [label(p) for p in frame["period"]]
    mask = _baseline_mask(frame["period"], baseline_start, baseline_end)
    frame["in_baseline"] = mask
    base = frame.loc[mask, "value"].to_numpy()
    if len(base) == 0:
        for col in ("cl", "lcl", "ucl"):
            frame[col] = np.nan
        return _finish(title, "xmr", frame, None, value_kind, label, None, (baseline_start, baseline_end))
    centre = float(base.mean())
    mr_bar = float(np.mean(np.abs(np.diff(base)))) if len(base) > 1 else 0.0
    lcl = centre - XMR_FACTOR * mr_bar
    if floor is not None:
        lcl = max(lcl, floor)
    frame["cl"] = centre
    frame["lcl"] = lcl
    frame["ucl"] = centre + XMR_FACTOR * mr_bar
    return _finish(title, "xmr", frame, centre, value_kind, label, None, (baseline_start, baseline_end))


# -- from the store -----------------------------------------------------------
# Each chart: (title, metric for targets, value kind). Keys are the names pages
# and the report use.
LABELS = {"week": week_label, "month": month_label}
SESSION_MEASURES = {
    # measure -> (numerator column, title)
    "attendance_rate": ("attended", "Attendance rate"),
    "no_show_rate": ("no_show", "No-show rate"),
}


def _check(name: str, allowed) -> None:
    if name not in allowed:
        raise ValueError(f"unknown choice {name!r}; expected one of {sorted(allowed)}")


def session_counts(cur, grain: str) -> pd.DataFrame:
    """Complete weeks or months: period, expected, attended, no_show, patient_cancelled, patients."""
    from analytics.metrics.sessions import session_params
    from analytics.store import fetch_df

    _check(grain, LABELS)
    return fetch_df(cur, "qi/spc_session_counts", {"grain": grain, **session_params()})


def session_chart(
    cur, measure: str, grain: str = "month", *, baseline_start=None, baseline_end=None, laney: bool = False
) -> ControlChart:
    """p-chart (or Laney p') of attendance or no-show rate per complete week or month."""
    _check(measure, SESSION_MEASURES)
    counts = session_counts(cur, grain)
    num, title = SESSION_MEASURES[measure]
    frame = counts.rename(columns={num: "x", "expected": "n"})[["period", "x", "n"]]
    chart = p_chart(frame, title=f"{title}, by {grain}", baseline_start=baseline_start,
                    baseline_end=baseline_end, laney=laney, label=LABELS[grain])
    return _with_metric(chart, measure, counts)


def completion_counts(cur) -> pd.DataFrame:
    """Complete discharge months: period, completed, discharged, patients."""
    from analytics.store import fetch_df

    return fetch_df(cur, "qi/spc_completion_by_month")


def completion_chart(cur, *, baseline_start=None, baseline_end=None, laney: bool = False) -> ControlChart:
    """p-chart of completion rate (completed / discharged) by discharge month."""
    counts = completion_counts(cur)
    frame = counts.rename(columns={"completed": "x", "discharged": "n"})[["period", "x", "n"]]
    chart = p_chart(frame, title="Completion rate, by discharge month", baseline_start=baseline_start,
                    baseline_end=baseline_end, laney=laney, label=month_label)
    return _with_metric(chart, "completion_rate", counts)


def retention_week4_counts(cur) -> pd.DataFrame:
    """Admission-month cohorts at least 28 days old: period, retained, admitted, patients."""
    from analytics.store import fetch_df
    from analytics.store.schema import UNPLANNED_REASONS

    return fetch_df(cur, "qi/spc_retention_week4", {"unplanned": list(UNPLANNED_REASONS)})


def retention_week4_chart(cur, *, baseline_start=None, baseline_end=None, laney: bool = False) -> ControlChart:
    """p-chart of retention at week 4 by admission month (complete cohorts only)."""
    counts = retention_week4_counts(cur)
    frame = counts.rename(columns={"retained": "x", "admitted": "n"})[["period", "x", "n"]]
    chart = p_chart(frame, title="Retention at week 4, by admission month", baseline_start=baseline_start,
                    baseline_end=baseline_end, laney=laney, label=month_label)
    return _with_metric(chart, "retention_week_4", counts)


def median_hours_by_month(cur) -> pd.DataFrame:
    """Complete months: period, median_weekly_hours, episode_weeks, met_weeks, patients.

    The weeks are the dose's (the macro complete_episode_weeks, the one place the
    week rules are written), with the programs' targets bound as for the dose.
    """
    from analytics.metrics import dose
    from analytics.store.queries import fetch_df

    return fetch_df(cur, "qi/spc_median_hours", dose.target_params(dose.target_hours(cur)))


def median_hours_chart(cur, *, baseline_start=None, baseline_end=None) -> ControlChart:
    """XmR chart of the monthly median of weekly attended hours."""
    counts = median_hours_by_month(cur)
    frame = counts.rename(columns={"median_weekly_hours": "value"})[["period", "value"]]
    chart = xmr_chart(frame, title="Median weekly hours, by month", baseline_start=baseline_start,
                      baseline_end=baseline_end, label=month_label, value_kind="hours")
    return _with_metric(chart, "median_weekly_hours", counts)


def _with_metric(chart: ControlChart, metric: str, counts: pd.DataFrame) -> ControlChart:
    """The chart named for its metric, its points carrying the group size (patients) for suppression."""
    from dataclasses import replace

    points = chart.points
    if "patients" in counts.columns and not points.empty:
        sizes = counts.set_index("period")["patients"]
        points = points.assign(patients=points["period"].map(sizes).fillna(0).astype(int))
    elif "patients" not in points.columns:
        points = points.assign(patients=pd.Series(dtype="int64"))
    return replace(chart, metric=metric, points=points)


# The charts whose x and n count persons (episodes); the others count sessions or hours.
EPISODE_CHARTS = frozenset({"completion_month", "retention_week_4_month"})


@suppressed_by(control_charts(EPISODE_CHARTS))
def standard_charts(cur, *, baseline_start=None, baseline_end=None, laney: bool = False) -> dict[str, ControlChart]:
    """Every control chart of the QI page and packet, by key, in display order.

    Laney's p' applies to the session charts (large denominators); the episode
    charts have small denominators and keep plain p limits.
    """
    b = {"baseline_start": baseline_start, "baseline_end": baseline_end}
    return {
        "attendance_month": session_chart(cur, "attendance_rate", "month", laney=laney, **b),
        "no_show_month": session_chart(cur, "no_show_rate", "month", laney=laney, **b),
        "attendance_week": session_chart(cur, "attendance_rate", "week", laney=laney, **b),
        "no_show_week": session_chart(cur, "no_show_rate", "week", laney=laney, **b),
        "completion_month": completion_chart(cur, **b),
        "retention_week_4_month": retention_week4_chart(cur, **b),
        "median_hours_month": median_hours_chart(cur, **b),
    }


# -- measurement completion (clinical outcomes) ------------------------------------------
def measurement_completion_counts(cur, instrument: str) -> pd.DataFrame:
    """Complete months: period (the month windows start in), completed, due, patients, for one
    instrument over the windows closed by as_of (sql/qi/spc_measurement_completion.sql)."""
    from analytics.metrics.measures import bound_instruments, instrument_named
    from analytics.store import fetch_df

    ins = instrument_named(cur, instrument)
    return fetch_df(cur, "qi/spc_measurement_completion", {"instruments": bound_instruments((ins,))})


def _hide_completion_chart(chart: ControlChart, *args, threshold: int | None = None, **kwargs) -> ControlChart:
    # A window is about one episode's month or fortnight: the counts are read as counts of people.
    return suppress_control_chart(chart, person_counts=True, threshold=threshold)


@suppressed_by(hide=_hide_completion_chart)
def measurement_completion_chart(cur, instrument: str, *, baseline_start=None, baseline_end=None,
                                 laney: bool = False) -> ControlChart:
    """p-chart (or Laney p') of measurement completion (completed / due windows) by the month
    the windows start in, for one instrument."""
    counts = measurement_completion_counts(cur, instrument)
    frame = counts.rename(columns={"completed": "x", "due": "n"})[["period", "x", "n"]]
    chart = p_chart(frame, title="Measurement completion, by the month windows start", baseline_start=baseline_start,
                    baseline_end=baseline_end, laney=laney, label=month_label)
    return _with_metric(chart, "measurement_completion_rate", counts)
