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

Each analytics result declares its rule once, beside its function, and every way
out (an analyst's view of a page, a CSV download, the packet) reads that declaration:

>>> @suppressed_by(table_spec(counts=("episodes", "patients"), measures=("share",)))
... def mix_by(cur, dimension): ...
>>> suppression_of(mix_by).apply(frame)   # hidden cells read "<11"

A function with no declaration has no rule, so callers refuse to show its result to
a role that may see suppressed figures only (NoSuppressionRule).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping

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


def table_spec(counts: tuple[str, ...] = (), measures: tuple[str, ...] = (), *, group: str | None = "patients",
               rates: tuple[RateSpec, ...] = (), column_totals: bool = False) -> SuppressionSpec:
    """The spec of a result's table: counts of persons, rates with their counts, and
    measures (every other figure: session counts, hours, shares) hidden with a small group.

    >>> table_spec(("episodes", "patients"), ("share",)).rates
    (RateSpec(column='share', numerator=None, denominator=None),)
    """
    return SuppressionSpec(counts=counts, rates=rates + tuple(RateSpec(m) for m in measures),
                           group_size=group, column_totals=column_totals)


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


def suppress_fields(result: Any, spec: SuppressionSpec, threshold: int | None = None) -> Any:
    """A dataclass of KPIs with each hidden field replaced by '<threshold' (fields read as a one-row table)."""
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)
              if isinstance(getattr(result, f.name), (int, float, type(None))) or f.name in spec.counts}
    shown = suppress_kpis(fields, spec, threshold)
    changed = {k: v for k, v in shown.items() if isinstance(v, str) and v != fields[k]}
    return dataclasses.replace(result, **changed)


# -- charts ---------------------------------------------------------------------------
# The points of a control chart or a funnel: x events of n (patients or episodes when
# person_counts, else sessions), the rate, and the group's patients.
def control_chart_spec(*, person_counts: bool, group: bool = True) -> SuppressionSpec:
    """The spec of a control chart's points (value = x / n, or a median for XmR charts)."""
    return SuppressionSpec(
        counts=("x", "n") if person_counts else (),
        rates=(RateSpec("value", "x", "n") if person_counts else RateSpec("value"),),
        group_size="patients" if group else None,
        column_totals=False,
    )


def funnel_spec(*, person_counts: bool, group: bool = True) -> SuppressionSpec:
    """The spec of a funnel's units (p = x / n); each unit's volume is on the axis and the
    units add up to the program's total, so complementary suppression runs across them."""
    return SuppressionSpec(
        counts=("x", "n") if person_counts else (),
        rates=(RateSpec("p", "x", "n") if person_counts else RateSpec("p"),),
        group_size="patients" if group else None,
        column_totals=True,
    )


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
    spec = control_chart_spec(person_counts=person_counts, group="patients" in points.columns)
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
    spec = funnel_spec(person_counts=person_counts, group="patients" in points.columns)
    mask = suppression_mask(points, spec, threshold)
    hidden = (mask["p"] | (mask["n"] if "n" in mask else False)).to_numpy()
    names = [str(u) for u in points.loc[hidden, "unit"]]
    kept = points.loc[~hidden].copy()
    outliers = tuple(o for o in plot.outliers if not any(o.startswith(f"{n}: ") for n in names))
    outliers += tuple(f"{n}: {marker(threshold)} (hidden by small-cell suppression)" for n in names)
    return replace(plot, points=kept.assign(suppressed=False), outliers=outliers)


# -- declarations ------------------------------------------------------------------------
class NoSuppressionRule(RuntimeError):
    """An analytics result has no declared suppression, so it may not leave the room suppressed."""


@dataclass(frozen=True)
class Suppression:
    """How one analytics result is suppressed whenever it leaves the room.

    spec: the SuppressionSpec of the result's table (a DataFrame, a dataclass of KPIs
        read as a one-row table, or a dict of either, value by value), or a function
        of the call's arguments that returns it.
    hide: for any other result (charts): (result, *args, threshold=None, **kwargs) ->
        the result fit for export.
    nothing_to_hide: why the result needs no suppression (it holds no person figures).
    """

    spec: SuppressionSpec | Callable[..., SuppressionSpec] | None = None
    hide: Callable[..., Any] | None = None
    nothing_to_hide: str = ""

    def spec_for(self, *args: Any, **kwargs: Any) -> SuppressionSpec | None:
        """The spec of the result of the call with these arguments (None: no table spec)."""
        return self.spec(*args, **kwargs) if callable(self.spec) else self.spec

    def apply(self, result: Any, *args: Any, threshold: int | None = None, **kwargs: Any) -> Any:
        """result (of the call with these arguments) with every hidden figure hidden:
        '<threshold' in tables and KPIs; charts as their hide rule leaves them."""
        if self.nothing_to_hide:
            return result
        if self.hide is not None:
            return self.hide(result, *args, threshold=threshold, **kwargs)
        return _apply_spec(result, self.spec_for(*args, **kwargs), threshold)


def _apply_spec(result: Any, spec: SuppressionSpec | None, threshold: int | None) -> Any:
    if spec is None:
        raise NoSuppressionRule("a suppression without a spec or a hide rule")
    if isinstance(result, pd.DataFrame):
        return suppress_table(result, spec, threshold)
    if isinstance(result, dict):
        return {key: _apply_spec(value, spec, threshold) for key, value in result.items()}
    if dataclasses.is_dataclass(result):
        return suppress_fields(result, spec, threshold)
    raise NoSuppressionRule(f"a table spec cannot suppress a {type(result).__name__}")


def suppressed_by(spec: SuppressionSpec | Callable[..., SuppressionSpec] | Suppression | None = None, *,
                  hide: Callable[..., Any] | None = None, nothing_to_hide: str = "") -> Callable:
    """Declare, beside an analytics function, how its result is suppressed.

    >>> @suppressed_by(nothing_to_hide="dimension names only")
    ... def dimensions(cur, level="episode"): ...
    """
    rule = spec if isinstance(spec, Suppression) else Suppression(spec, hide, nothing_to_hide)
    if rule.spec is None and rule.hide is None and not rule.nothing_to_hide:
        raise ValueError("a suppression declaration needs a spec, a hide rule or the reason nothing is hidden")

    def declare(fn: Callable) -> Callable:
        fn.__suppression__ = rule
        return fn
    return declare


def suppression_of(fn: Callable) -> Suppression | None:
    """The suppression declared for an analytics function (None: none declared)."""
    return getattr(fn, "__suppression__", None)


def control_charts(person_count_charts: frozenset[str]) -> Suppression:
    """The declaration of a dict of ControlCharts by key; x and n count persons in the
    charts named in person_count_charts (sessions or hours in the others)."""
    def hide(charts: dict, *args: Any, threshold: int | None = None, **kwargs: Any) -> dict:
        return {key: suppress_control_chart(chart, person_counts=key in person_count_charts, threshold=threshold)
                for key, chart in charts.items()}
    return Suppression(hide=hide)


def funnel_plots(person_count_measures: frozenset[str]) -> Suppression:
    """The declaration of a dict of FunnelPlots by program for (measure, unit); x and n
    count persons for the measures in person_count_measures (sessions in the others)."""
    def spec(measure: str, unit: str | None = None) -> SuppressionSpec:
        return funnel_spec(person_counts=measure in person_count_measures)

    def hide(plots: dict, measure: str, unit: str | None = None, *, threshold: int | None = None) -> dict:
        return {program: suppress_funnel(plot, person_counts=measure in person_count_measures, threshold=threshold)
                for program, plot in plots.items()}
    return Suppression(spec=spec, hide=hide)
