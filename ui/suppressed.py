"""What an analyst sees: every analytics result with the packet's small-cell suppression.

Issue 6 gives the analyst role "suppressed figures only". ui.data applies
for_scope() to every result before a page sees it, so charts, tiles and
tables all get the same hiding, in this one place:

- a DataFrame's hidden cells become NaN (a chart leaves the point out; never 0),
  and the hidden cells are listed in df.attrs[HIDDEN] so ui.widgets.table shows
  them as "<11";
- a dataclass of KPIs (SessionRates, DoseSummary, Readmission) gets "<11" in
  place of each hidden value (ui.widgets.tile shows text as it is);
- QI control charts and funnel plots go through the packet's own helpers.

The rules themselves are analytics.privacy.suppression's (counts 1..threshold-1, rates
built on them, groups of fewer than threshold patients, complementary cells).
A function with no rule here fails closed for an analyst: the section shows a
plain "could not be computed" note rather than unsuppressed figures.

>>> for_scope(Scope(suppressed_only=True), "sessions:rates_by", ("month",), (), frame)
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import pandas as pd

from analytics.filters import Scope
from analytics.privacy.suppression import RateSpec, SuppressionSpec, suppress_kpis, suppression_mask

HIDDEN = "suppressed_cells"  # df.attrs key: the (index label, column) cells hidden


class NoSuppressionRule(RuntimeError):
    """An analytics result has no suppression rule, so an analyst may not see it."""


def _spec(counts: tuple[str, ...] = (), measures: tuple[str, ...] = (), *, group: str | None = "patients",
          rates: tuple[RateSpec, ...] = (), column_totals: bool = False) -> SuppressionSpec:
    """counts: person counts; measures: every other figure, hidden when its group is small."""
    return SuppressionSpec(counts=counts, rates=rates + tuple(RateSpec(m) for m in measures),
                           group_size=group, column_totals=column_totals)


SESSION_MEASURES = ("expected", "attended", "no_show", "patient_cancelled", "program_cancelled", "scheduled_total",
                    "completed_sessions", "minutes_scheduled", "minutes_attended", "attendance_rate",
                    "no_show_rate", "patient_cancellation_rate", "program_cancellation_rate",
                    "session_completion_rate")
DOSE_MEASURES = ("episode_weeks", "met_weeks", "dose_target_met_rate", "median_weekly_hours", "mean_weekly_hours",
                 "p10_hours", "p25_hours", "p75_hours", "p90_hours")
MIX = _spec(("episodes", "patients"), ("attended_minutes", "sessions", "share"))
CURVE_RATES = tuple(RateSpec(c, None, "n_at_risk") for c in (
    "retention", "retention_lo", "retention_hi", "in_program", "in_program_lo", "in_program_hi",
    "cif_unplanned", "cif_other"))

# analytics function -> the SuppressionSpec of the DataFrame it returns
FRAME_SPECS: dict[str, SuppressionSpec] = {
    "sessions:rates_by": _spec(("episodes", "patients"), SESSION_MEASURES),
    "dose:weekly_hours_distribution": _spec(("episodes", "patients"), ("episode_weeks", "met_weeks")),
    "dose:dose_by_program_week": _spec(("episodes", "patients"), DOSE_MEASURES),
    "dose:dose_by": _spec(("episodes", "patients"), DOSE_MEASURES),
    "retention:retention_curve": _spec(("n_at_risk",), group=None, rates=CURVE_RATES),
    "retention:cohort_retention": _spec(("n", "n_at_risk"), group=None, rates=CURVE_RATES[:3]),
    "outcomes:discharge_reasons_by_month": _spec(("discharges",), group=None,
                                                 rates=(RateSpec("share", "discharges", None),), column_totals=True),
    "outcomes:los_by_reason": _spec(("n",), ("mean", "min", "q1", "median", "q3", "max", "lower_whisker",
                                             "upper_whisker"), group="n"),
    "mix:therapy_mix_table": MIX,
    "mix:mix_by_program_week": MIX,
    "mix:mix_by": MIX,
    "mix:component_reach": _spec(("episodes_reached", "episodes_attending", "patients_reached",
                                  "patients_attending"), group="patients_attending",
                                 rates=(RateSpec("reach", "episodes_reached", "episodes_attending"),)),
    "coverage:coverage_by_site_month": _spec(("episodes", "patients"), ("sessions",)),
    "coverage:site_last_dates": _spec(("episodes",), group=None, rates=(RateSpec("sessions", None, "episodes"),)),
}

# analytics function -> the spec of its KPI dataclass (fields as a one-row table)
KPI_SPECS: dict[str, SuppressionSpec] = {
    "sessions:session_rates": _spec(("patients",), SESSION_MEASURES),
    "dose:dose_summary": _spec(("episodes", "patients"), ("episode_weeks", "median_weekly_hours",
                                                          "dose_target_met_rate")),
}
READMISSION = _spec(("eligible", "readmitted"), group=None,
                    rates=(RateSpec("rate", "readmitted", "eligible"),))

# Results with no person figures, or that the page suppresses with the packet's own
# rules (the Overview tiles via report.suppressed_tiles, the period comparison via
# periods.comparison_table(suppress=True)). Listed by name so nothing passes by default.
PASS_THROUGH: frozenset[str] = frozenset({
    "breakdowns:dimensions", "interventions:list_interventions", "import_history:import_log",
    "import_history:rejected_rows", "audit:audit_rows", "report:kpi_values", "metrics:summary",
    "outcomes:period_counts", "periods:compare_months",
})
PERSON_COUNT_CHARTS = frozenset({"completion_month", "retention_week_4_month"})


def hide_frame(df: pd.DataFrame, spec: SuppressionSpec) -> pd.DataFrame:
    """df with every cell the spec hides set to NaN; the hidden cells listed in attrs[HIDDEN]."""
    if df.empty:
        return df
    mask = suppression_mask(df, spec)
    out = df.copy()
    for col in mask.columns[mask.any(axis=0).to_numpy()]:
        hide = mask[col].to_numpy()
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).where(~hide, np.nan)
    # A tuple of (label, column) pairs: attrs must stay comparable (pd.concat compares them)
    # and JSON-serialisable (pyarrow writes them into the table metadata st.dataframe sends).
    out.attrs[HIDDEN] = tuple((idx, str(col)) for col in mask.columns for idx in mask.index[mask[col].to_numpy()])
    return out


def _kpis(result: Any, spec: SuppressionSpec) -> Any:
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)
              if isinstance(getattr(result, f.name), (int, float, type(None))) or f.name in spec.counts}
    shown = suppress_kpis(fields, spec)
    changed = {k: v for k, v in shown.items() if isinstance(v, str) and v != fields[k]}
    return dataclasses.replace(result, **changed)


def _control_charts(result: Any, args: tuple, kwargs: dict) -> Any:
    from analytics.privacy.suppression import suppress_control_chart

    return {key: suppress_control_chart(chart, person_counts=key in PERSON_COUNT_CHARTS)
            for key, chart in result.items()}


def _funnels(result: Any, args: tuple, kwargs: dict) -> Any:
    from analytics.privacy.suppression import suppress_funnel

    measure = args[0] if args else kwargs.get("measure")
    return {program: suppress_funnel(plot, person_counts=measure != "attendance_rate")
            for program, plot in result.items()}


def _readmissions(result: Any, args: tuple, kwargs: dict) -> Any:
    return {days: _kpis(r, READMISSION) for days, r in result.items()}


OTHER_RULES: dict[str, Callable[[Any, tuple, dict], Any]] = {
    "spc:standard_charts": _control_charts,
    "funnel:funnels": _funnels,
    "outcomes:readmission_rates": _readmissions,
}


def for_scope(scope: Scope, name: str, args: tuple, kwargs: dict, result: Any) -> Any:
    """result as the scope may see it: unchanged, or suppressed for suppressed_only scopes."""
    if not scope.suppressed_only or name in PASS_THROUGH:
        return result
    if name in FRAME_SPECS and isinstance(result, pd.DataFrame):
        return hide_frame(result, FRAME_SPECS[name])
    if name in KPI_SPECS and dataclasses.is_dataclass(result):
        return _kpis(result, KPI_SPECS[name])
    if name in OTHER_RULES:
        return OTHER_RULES[name](result, args, kwargs)
    raise NoSuppressionRule(f"no small-cell suppression rule for {name}; not shown to this role")


def hidden_cells(df: pd.DataFrame) -> frozenset:
    """The (index label, column) cells for_scope() hid in df (empty when none)."""
    return frozenset(tuple(cell) for cell in df.attrs.get(HIDDEN, ()))
