"""Funnel plots: each unit's rate against limits around the overall rate that widen as volume falls.

Limits use the normal approximation to the binomial (Spiegelhalter 2005):
p0 ± z·sqrt(p0(1-p0)/n), clipped to [0, 1], with z = 1.96 (95%) and
z = 3.09 (99.8%), where p0 = Σx/Σn over the units shown. A unit beyond the
99.8% limit is an "alarm", beyond 95% only an "alert". Units are listed by
name, never ranked: a funnel plot replaces a league table.

>>> plot = funnel(pd.DataFrame({"unit": ["North", "South"], "x": [40, 90], "n": [50, 100]}))
>>> plot.outliers
()
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.privacy.suppression import funnel_plots, funnel_spec, suppress_funnel, suppressed_by

Z95 = 1.96  # two-sided 95%
Z998 = 3.09  # two-sided 99.8%


@dataclass(frozen=True, eq=False)
class FunnelPlot:
    """points: unit, x, n, p, lo95, hi95, lo998, hi998, flag ('' / 'alert' / 'alarm'), side.

    curve: n, lo95, hi95, lo998, hi998 over the range of volumes, for drawing.
    """

    title: str
    unit_kind: str  # "site" or "clinician"
    p0: float | None
    points: pd.DataFrame
    curve: pd.DataFrame
    outliers: tuple[str, ...]


def limits(p0: float, n: np.ndarray | float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) limits p0 ± z·sqrt(p0(1-p0)/n), clipped to [0, 1]."""
    n = np.asarray(n, dtype=float)
    half = z * np.sqrt(p0 * (1 - p0) / n)
    return np.clip(p0 - half, 0.0, 1.0), np.clip(p0 + half, 0.0, 1.0)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def funnel(units: pd.DataFrame, *, title: str = "", unit_kind: str = "site", curve_points: int = 200) -> FunnelPlot:
    """A funnel plot from columns unit, x (events), n (opportunities); units with n = 0 are left out."""
    pts = units.loc[units["n"] > 0, ["unit", "x", "n"]].copy()
    pts["x"] = pts["x"].astype(float)
    pts["n"] = pts["n"].astype(float)
    pts = pts.sort_values("unit", key=lambda s: s.astype(str)).reset_index(drop=True)
    empty_curve = pd.DataFrame(columns=["n", "lo95", "hi95", "lo998", "hi998"])
    if pts.empty:
        for col in ("p", "lo95", "hi95", "lo998", "hi998"):
            pts[col] = np.nan
        pts["flag"] = ""
        pts["side"] = ""
        return FunnelPlot(title, unit_kind, None, pts, empty_curve, ())
    p0 = float(pts["x"].sum() / pts["n"].sum())
    pts["p"] = pts["x"] / pts["n"]
    pts["lo95"], pts["hi95"] = limits(p0, pts["n"].to_numpy(), Z95)
    pts["lo998"], pts["hi998"] = limits(p0, pts["n"].to_numpy(), Z998)
    above998 = pts["p"] > pts["hi998"]
    below998 = pts["p"] < pts["lo998"]
    above95 = pts["p"] > pts["hi95"]
    below95 = pts["p"] < pts["lo95"]
    pts["flag"] = np.where(above998 | below998, "alarm", np.where(above95 | below95, "alert", ""))
    pts["side"] = np.where(above95, "above", np.where(below95, "below", ""))

    outliers = []
    for _, row in pts.iterrows():
        if not row["flag"]:
            continue
        level = "99.8%" if row["flag"] == "alarm" else "95%"
        key = ("hi" if row["side"] == "above" else "lo") + ("998" if level == "99.8%" else "95")
        outliers.append(
            f"{row['unit']}: {_pct(row['p'])} (n = {int(row['n'])}) is {row['side']} the {level} limit "
            f"{_pct(row[key])} around the overall {_pct(p0)}"
        )

    n_max = float(pts["n"].max())
    # from half the smallest volume: limits near n = 1 span 0-100% and squash the plot
    n_min = max(1.0, 0.5 * float(pts["n"].min()))
    grid = np.unique(np.concatenate([np.geomspace(n_min, max(n_max * 1.1, n_min + 1.0), curve_points),
                                     pts["n"].to_numpy()]))
    curve = pd.DataFrame({"n": grid})
    curve["lo95"], curve["hi95"] = limits(p0, grid, Z95)
    curve["lo998"], curve["hi998"] = limits(p0, grid, Z998)
    return FunnelPlot(title, unit_kind, p0, pts, curve, tuple(outliers))


def funnel_by_program(
    units: pd.DataFrame, *, title: str = "", unit_kind: str = "site"
) -> dict[str, FunnelPlot]:
    """One funnel per program (columns program, unit, x, n): adult and adolescent programs
    are different populations, so each gets its own p0."""
    out: dict[str, FunnelPlot] = {}
    for program, group in units.groupby("program", sort=True):
        out[str(program)] = funnel(group, title=f"{title} — {program}" if title else str(program), unit_kind=unit_kind)
    return out



# -- from the store -----------------------------------------------------------
# unit name -> the fixed column spliced into funnel_*.sql at /*dimension*/ (by
# breakdowns.with_dimension, which accepts only its own constant expressions)
UNITS: dict[str, str] = {"site": "site", "clinician": "clinician"}


@dataclass(frozen=True)
class FunnelMeasure:
    """A funnel measure: the query that counts it, its columns, and how it is labelled."""
    query: str         # the analytics/sql file (program, unit and the columns below)
    numerator: str     # x: the column counted as a success
    denominator: str   # n: the volume
    patients: str      # the distinct patients behind n (small-cell suppression)
    title: str
    volume: str        # what n counts, for the x axis


# The measures, listed once: the QI page, the packet and the figures read them here.
MEASURES: dict[str, FunnelMeasure] = {
    "attendance_rate": FunnelMeasure("qi/funnel_sessions", "attended", "expected", "patients",
                                     "Attendance rate", "Expected sessions (volume)"),
    "completion_rate": FunnelMeasure("qi/funnel_episodes", "completed", "discharged", "discharged_patients",
                                     "Completion rate", "Discharged episodes (volume)"),
    "retention_week_4": FunnelMeasure("qi/funnel_episodes", "retained4", "eligible4", "eligible4_patients",
                                      "Retention at week 4", "Episodes admitted ≥ 28 days before as_of (volume)"),
}
# The measures whose x and n count persons (episodes); attendance counts sessions.
EPISODE_MEASURES = frozenset(m for m, spec in MEASURES.items() if spec.query == "qi/funnel_episodes")


def funnel_counts(cur, measure: str, unit: str) -> pd.DataFrame:
    """program, unit, x, n, patients for a measure by site or clinician (cursor filters bound).

    Session measures belong to the session's clinician; episode measures to the
    episode's primary clinician (most attended minutes, ties alphabetical).
    """
    from analytics.metrics.breakdowns import with_dimension
    from analytics.metrics.sessions import session_params
    from analytics.store import sql_text
    from analytics.store.schema import UNPLANNED_REASONS

    if measure not in MEASURES or unit not in UNITS:
        raise ValueError(f"unknown funnel {measure!r} by {unit!r}")
    spec = MEASURES[measure]
    sql = with_dimension(sql_text(spec.query), UNITS[unit])
    params = {"unplanned": list(UNPLANNED_REASONS)} if measure in EPISODE_MEASURES else session_params()
    counts = cur.execute(sql, params).df()
    out = counts.rename(columns={spec.numerator: "x", spec.denominator: "n", spec.patients: "group_patients"})
    return out[["program", "unit", "x", "n", "group_patients"]]


@suppressed_by(funnel_plots(EPISODE_MEASURES))
def funnels(cur, measure: str, unit: str) -> dict[str, FunnelPlot]:
    """One funnel plot per program in view, for a measure by site or clinician."""
    return funnels_by_program(funnel_counts(cur, measure, unit), f"{MEASURES[measure].title} by {unit}", unit)


def funnels_by_program(counts: pd.DataFrame, title: str, unit_kind: str) -> dict[str, FunnelPlot]:
    """One funnel plot per program of counts (program, unit, x, n, group_patients), titled
    "<title> — <program>"; each point keeps its unit's patients (for small-cell suppression)."""
    plots = {}
    for program, group in counts.groupby("program", sort=True):
        plot = funnel(group, title=f"{title} — {program}", unit_kind=unit_kind)
        sizes = group.set_index("unit")["group_patients"]
        points = plot.points.assign(patients=plot.points["unit"].map(sizes).fillna(0).astype(int))
        plots[str(program)] = FunnelPlot(plot.title, plot.unit_kind, plot.p0, points, plot.curve, plot.outliers)
    return plots


# -- reliable improvement (clinical outcomes) ---------------------------------------------
# The metric name targets.py knows, so the funnel draws the configured target.
RELIABLE_IMPROVEMENT = "reliable_improvement_rate"
# What n counts on each funnel's x axis, by metric (the admission rate's funnels are
# analytics/qi/intake.py's, by a referral column).
VOLUMES: dict[str, str] = {m: spec.volume for m, spec in MEASURES.items()} | {
    RELIABLE_IMPROVEMENT: "Pairs of scores (volume)", "admission_rate": "Referrals decided by as_of (volume)"}


def reliable_improvement_counts(cur, instrument: str) -> pd.DataFrame:
    """program, unit (site), x (pairs reliably improved), n (pairs), group_patients for one
    instrument with a reliable change (cursor filters bound); ValueError for one without."""
    from analytics.metrics.measures import bound_instruments, instrument_named
    from analytics.store import sql_text

    ins = instrument_named(cur, instrument)
    if ins.reliable_change is None:
        raise ValueError(f"{instrument} has no reliable change")
    counts = cur.execute(sql_text("qi/funnel_reliable_improvement"),
                         {"instruments": bound_instruments((ins,))}).df()
    out = counts.rename(columns={"improved": "x", "pairs": "n", "patients": "group_patients"})
    return out[["program", "unit", "x", "n", "group_patients"]]


def _hide_improvement_funnels(plots: dict, instrument: str, *, threshold: int | None = None) -> dict:
    return {program: suppress_funnel(plot, person_counts=True, threshold=threshold) for program, plot in plots.items()}


# x and n count episodes (pairs): every small count is hidden, across the sites too.
@suppressed_by(funnel_spec(person_counts=True), hide=_hide_improvement_funnels)
def reliable_improvement_funnels(cur, instrument: str) -> dict[str, FunnelPlot]:
    """One funnel plot per program of the sites' reliable improvement on one instrument."""
    counts = reliable_improvement_counts(cur, instrument)
    return funnels_by_program(counts, "Reliable improvement by site", "site")
