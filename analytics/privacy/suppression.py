"""Small-cell suppression for everything that leaves the room (the QI packet, CSV downloads).

The rules (CMS cell suppression policy; threshold from config [suppression]):
1. A count of patients or episodes from 1 to threshold-1 is hidden. Zero is shown.
2. Complementary suppression: within a column (whose total is shown or can be
   worked out, e.g. from a KPI tile) and within each declared row group (cells
   that add up to a shown total), one hidden cell alone could be recovered by
   subtraction, so the next smallest non-zero cell is hidden too. Repeated until
   nothing changes.
3. A rate is hidden when its numerator or denominator count is hidden or small,
   when the complement (denominator - numerator, e.g. the patients who dropped
   out) is a small count, or when its group holds fewer than threshold patients
   (session rates included).
A hidden cell reads "<11" (with the configured threshold), never 0 or blank.

>>> spec = SuppressionSpec(counts=("episodes",), rates=(RateSpec("completion_rate", "completed", "discharged"),),
...                        group_size="patients")
>>> suppress_table(df, spec)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from analytics.config import suppression_threshold


@dataclass(frozen=True)
class RateSpec:
    """A rate column and the patient/episode count columns it is made from (None: not person counts)."""

    column: str
    numerator: str | None = None
    denominator: str | None = None


@dataclass(frozen=True)
class SuppressionSpec:
    """Which columns of a table are person counts, rates and group sizes.

    counts: columns holding counts of patients or episodes.
    rates: rate columns with their numerator/denominator count columns.
    group_size: column with the number of patients in the row's group.
    column_totals: a column's total is shown or derivable (KPI tiles), so
        complementary suppression runs down each count column.
    row_groups: sets of count columns in one row that add up to a shown total.
    total_row: (column, value) of a total row; it is checked like any cell but is
        never picked as a complementary cell.
    """

    counts: tuple[str, ...] = ()
    rates: tuple[RateSpec, ...] = ()
    group_size: str | None = None
    column_totals: bool = True
    row_groups: tuple[tuple[str, ...], ...] = ()
    total_row: tuple[str, object] | None = None


def marker(threshold: int | None = None) -> str:
    """The text a hidden cell shows, e.g. '<11'."""
    return f"<{threshold if threshold is not None else suppression_threshold()}"


def _is_small(values: pd.Series, threshold: int) -> np.ndarray:
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return (v > 0) & (v < threshold)


def _hide_one_more(values: np.ndarray, hidden: np.ndarray, eligible: np.ndarray) -> int | None:
    """Index of the smallest non-zero visible eligible cell, or None."""
    candidates = np.flatnonzero(eligible & ~hidden & (np.nan_to_num(values, nan=0.0) > 0))
    if len(candidates) == 0:
        return None
    return int(candidates[np.argmin(values[candidates])])


def suppression_mask(df: pd.DataFrame, spec: SuppressionSpec, threshold: int | None = None) -> pd.DataFrame:
    """A boolean frame shaped like df: True where a cell must be hidden."""
    threshold = threshold if threshold is not None else suppression_threshold()
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    count_cols = list(dict.fromkeys(
        [c for c in spec.counts if c in df.columns]
        + [c for r in spec.rates for c in (r.numerator, r.denominator) if c and c in df.columns]
    ))
    for col in count_cols:
        mask[col] = _is_small(df[col], threshold)

    if spec.total_row is not None and spec.total_row[0] in df.columns:
        not_total = (df[spec.total_row[0]] != spec.total_row[1]).to_numpy()
    else:
        not_total = np.ones(len(df), dtype=bool)

    # Complementary suppression until stable: each pass can create a new lone hidden cell.
    changed = True
    while changed:
        changed = False
        if spec.column_totals and len(df) > 1:
            for col in count_cols:
                hidden = mask[col].to_numpy() & not_total
                if hidden.sum() == 1:
                    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
                    pick = _hide_one_more(values, mask[col].to_numpy(), not_total)
                    if pick is not None:
                        mask.iloc[pick, mask.columns.get_loc(col)] = True
                        changed = True
        for group in spec.row_groups:
            cols = [c for c in group if c in df.columns]
            if len(cols) < 2:
                continue
            values = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
            hidden = mask[cols].to_numpy()
            for i in range(len(df)):
                if hidden[i].sum() == 1:
                    pick = _hide_one_more(values[i], hidden[i], np.ones(len(cols), dtype=bool))
                    if pick is not None:
                        mask.iloc[i, mask.columns.get_loc(cols[pick])] = True
                        changed = True

    small_group = (
        pd.to_numeric(df[spec.group_size], errors="coerce").fillna(0).to_numpy() < threshold
        if spec.group_size and spec.group_size in df.columns
        else np.zeros(len(df), dtype=bool)
    )
    for rate in spec.rates:
        if rate.column not in df.columns:
            continue
        hide = small_group.copy()
        for col in (rate.numerator, rate.denominator):
            if col and col in df.columns:
                hide |= mask[col].to_numpy() | _is_small(df[col], threshold)
        if rate.numerator in df.columns and rate.denominator in df.columns:
            rest = pd.to_numeric(df[rate.denominator], errors="coerce") - pd.to_numeric(df[rate.numerator], errors="coerce")
            hide |= _is_small(rest, threshold)
        # A rate with nothing to show (NaN, e.g. n = 0) stays as it is.
        hide &= pd.to_numeric(df[rate.column], errors="coerce").notna().to_numpy()
        mask[rate.column] = hide
    return mask


def suppress_table(df: pd.DataFrame, spec: SuppressionSpec, threshold: int | None = None) -> pd.DataFrame:
    """df with hidden cells replaced by '<threshold' (object dtype); 0 stays 0.

    >>> suppress_table(pd.DataFrame({"site": ["A"], "episodes": [4]}), SuppressionSpec(counts=("episodes",)), 11)
      site episodes
    0    A      <11
    """
    threshold = threshold if threshold is not None else suppression_threshold()
    mask = suppression_mask(df, spec, threshold)
    out = df.astype(object).copy()
    out[mask] = marker(threshold)
    return out


def suppress_kpis(
    kpis: Mapping[str, object], spec: SuppressionSpec, threshold: int | None = None
) -> dict[str, object]:
    """A KPI dict (name -> value) with hidden values replaced by '<threshold'.

    Counts and rates are named in spec as for a one-row table; the group size is
    the number of patients behind the KPIs.
    """
    row = pd.DataFrame([dict(kpis)])
    return suppress_table(row, spec, threshold).iloc[0].to_dict()


def is_hidden(value: object) -> bool:
    """True for a cell suppress_table replaced."""
    return isinstance(value, str) and value.startswith("<")


# -- charts in the packet ---------------------------------------------------------
def suppress_control_chart(chart, *, person_counts: bool, threshold: int | None = None):
    """A ControlChart fit for export: hidden points lose their value and limits
    (limits would give n away), and their signals are dropped from the list.

    person_counts: True when x and n count patients or episodes (completion,
    retention); False for session counts and hours, where only the group-size
    rule (patients in the period) applies.
    """
    from dataclasses import replace

    threshold = threshold if threshold is not None else suppression_threshold()
    points = chart.points.copy()
    if points.empty:
        return replace(chart, points=points.assign(suppressed=pd.Series(dtype=bool)))
    spec = SuppressionSpec(
        counts=("x", "n") if person_counts else (),
        rates=(RateSpec("value", "x", "n") if person_counts else RateSpec("value"),),
        group_size="patients" if "patients" in points.columns else None,
        column_totals=False,
    )
    hidden = suppression_mask(points, spec, threshold)["value"].to_numpy()
    labels = set(points.loc[hidden, "label"])
    for col in ("x", "n", "value", "lcl", "ucl"):
        points[col] = points[col].astype(float).where(~hidden)
    points["suppressed"] = hidden
    points["beyond"] = points["beyond"] & ~hidden
    points["signal"] = points["beyond"] | points["shift"]
    signals = [s for s in chart.signals if not any(s.startswith(f"{label}: ") for label in labels)]
    if hidden.any():
        signals.append(f"{int(hidden.sum())} point(s) hidden by small-cell suppression ({marker(threshold)}).")
    return replace(chart, points=points, signals=tuple(signals))


def suppress_funnel(plot, *, person_counts: bool, threshold: int | None = None):
    """A FunnelPlot fit for export: units with hidden figures are taken off the plot
    (their volume is the x position) and named in its notes; their outlier lines go."""
    from dataclasses import replace

    threshold = threshold if threshold is not None else suppression_threshold()
    points = plot.points
    if points.empty:
        return replace(plot, points=points.assign(suppressed=pd.Series(dtype=bool)))
    spec = SuppressionSpec(
        counts=("x", "n") if person_counts else (),
        rates=(RateSpec("p", "x", "n") if person_counts else RateSpec("p"),),
        group_size="patients" if "patients" in points.columns else None,
        column_totals=True,  # a unit's volume is on the axis; the others' add up to the total
    )
    mask = suppression_mask(points, spec, threshold)
    hidden = (mask["p"] | (mask["n"] if "n" in mask else False)).to_numpy()
    names = [str(u) for u in points.loc[hidden, "unit"]]
    kept = points.loc[~hidden].copy()
    outliers = tuple(o for o in plot.outliers if not any(o.startswith(f"{n}: ") for n in names))
    outliers += tuple(f"{n}: {marker(threshold)} (hidden by small-cell suppression)" for n in names)
    return replace(plot, points=kept.assign(suppressed=False), outliers=outliers)
