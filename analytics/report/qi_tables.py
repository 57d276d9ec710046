"""Tables of the QI results, shared by the QI page and the packet: chart points, funnel units,
the month compared (each figure as text). No Streamlit here.

>>> comparison_text(periods.comparison_table(comparison)).iloc[0]["this_month"]
'1,234'
"""
from __future__ import annotations

import pandas as pd

from analytics import formatting
from analytics.privacy.suppression import marker, suppression_of
from analytics.qi import periods, spc

POINT_COLUMNS = ("chart", "label", "x", "n", "value", "cl", "lcl", "ucl", "signal")
# What a hidden point loses (suppress_control_chart): its figures and the limits that would give n away.
HIDDEN_POINT_COLUMNS = ("x", "n", "value", "lcl", "ucl")
FUNNEL_COLUMNS = ("program", "unit", "x", "n", "p", "lo95", "hi95", "lo998", "hi998", "flag", "patients")
COMPARISON_VALUES = ("this_month", "previous_month", "same_month_last_year")
COMPARISON_CHANGES = ("change_vs_previous", "change_vs_last_year")


def chart_points(charts: dict[str, spc.ControlChart], keys, *, suppress: bool = False,
                 source=spc.standard_charts) -> pd.DataFrame | None:
    """The points of the charts named in keys as one table (None when they have none).

    A point hidden by small-cell suppression (charts as their declared suppression
    leaves them, e.g. an analyst's) reads the marker. suppress=True applies that
    suppression first (the one declared beside `source`, the function that made the
    charts): the table as it may leave the room.
    """
    if suppress:
        charts = suppression_of(source).apply(charts)
    frames = []
    for key in keys:
        pts = charts[key].points
        if pts.empty:
            continue
        frame = pts.assign(chart=key)[[*POINT_COLUMNS, *(["patients"] if "patients" in pts else [])]]
        if "suppressed" in pts and pts["suppressed"].any():
            hidden = pts["suppressed"].astype(bool).to_numpy()
            frame = frame.astype({c: object for c in HIDDEN_POINT_COLUMNS})
            frame.loc[hidden, list(HIDDEN_POINT_COLUMNS)] = marker()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else None


def funnel_units(plots: dict[str, object]) -> pd.DataFrame | None:
    """The units of every program's funnel, by program and name (not a ranking); None when none."""
    frames = [plot.points.assign(program=program) for program, plot in sorted(plots.items()) if not plot.points.empty]
    if not frames:
        return None
    table = pd.concat(frames, ignore_index=True)
    return table[[c for c in FUNNEL_COLUMNS if c in table.columns]].sort_values(["program", "unit"])


def comparison_text(table: pd.DataFrame) -> pd.DataFrame:
    """periods.comparison_table() with each figure as text: values as counts or rates,
    changes signed (rates in percentage points); '<11' and missing ('—') as they are."""
    kinds = table["kpi"].map(lambda k: "count" if periods.KPIS[k][1] == "count" else "rate")
    out = table[["kpi", "label"]].copy()
    for col in COMPARISON_VALUES:
        out[col] = [formatting.number(v, kind) for v, kind in zip(table[col], kinds)]
    for col in COMPARISON_CHANGES:
        out[col] = [formatting.change(v, kind) for v, kind in zip(table[col], kinds)]
    return out
