"""Retention and time in program across the 8 to 12 weeks, with patients still in treatment censored.

Definitions (docs/metrics.md, "Retention and time in program"):
- retention at week w = 1 - CIF_unplanned(7w), the Aalen-Johansen cumulative
  incidence of an unplanned discharge (dropped out, terminated) with other
  discharges as competing events and active episodes censored at as_of;
- in program at week w = Kaplan-Meier P(time in program > 7w), any discharge an event.

SQL counts events per (group, day) (sql/metrics/event_counts.sql over the macro
episode_times); analytics/metrics/survival.py does the estimation on those few rows.

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     retention_curve(cur, by="site")
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import breakdowns
from analytics.store import sql_text
from analytics.store.schema import UNPLANNED_REASONS
from analytics.metrics.survival import SurvivalFit, fit_counts
from analytics.privacy.suppression import RateSpec, suppressed_by, table_spec

# A curve is drawn only while at least this many episodes are at risk; beyond
# that one episode moves it by 10 points or more.
MIN_AT_RISK = 10
WEEKS = range(0, 13)


def event_counts(cur: duckdb.DuckDBPyConnection, by: str | None = None) -> pd.DataFrame:
    """Episode counts per (grp, time): unplanned, other, censored, completed.

    grp is 'all' without a breakdown. Outcomes (outcomes.outcome_summary) read the
    same table, so one scan of the episodes serves both.
    """
    if by is None:
        expression, params = breakdowns.TOTAL_EXPRESSION, {}
    else:
        expression, params = breakdowns.dimension_sql(cur, by, level="episode")
    sql = breakdowns.with_dimension(sql_text("metrics/event_counts"), expression)
    return cur.execute(sql, {"unplanned": list(UNPLANNED_REASONS), **params}).df()


def fits(
    cur: duckdb.DuckDBPyConnection, by: str | None = None, counts: pd.DataFrame | None = None
) -> dict[object, SurvivalFit]:
    """One fitted SurvivalFit per group (a single 'all' group without a breakdown).

    An empty selection gives {'all': empty fit} without a breakdown, {} with one.
    counts: event_counts(cur, by) when the caller has it already.
    """
    if counts is None:
        counts = event_counts(cur, by)
    if by is None and counts.empty:
        return {"all": fit_counts([], [], [], [])}
    out: dict[object, SurvivalFit] = {}
    for grp, part in counts.groupby("grp", sort=True, dropna=False):
        key = None if (isinstance(grp, float) and np.isnan(grp)) else grp
        out[key] = fit_counts(part["time"], part["unplanned"], part["other"], part["censored"])
    return out


def curve_at_weeks(fit: SurvivalFit, weeks=WEEKS) -> pd.DataFrame:
    """Retention and in-program estimates of one fit at days 7w.

    Columns: week, day, n_at_risk, retention (+ _lo/_hi), in_program (+ _lo/_hi),
    cif_unplanned, cif_other, estimable, low_risk (< MIN_AT_RISK at risk) and
    shown (False from the first week that is low-risk or not estimable on, so a
    page stops the curve there).
    """
    weeks = list(weeks)
    at = fit.at([7 * w for w in weeks])
    out = pd.DataFrame({
        "week": weeks,
        "day": [7 * w for w in weeks],
        "n_at_risk": at["n_at_risk"].to_numpy(),
        # retention = 1 - CIF, so its limits are the CIF's limits flipped
        "retention": 1.0 - at["cif_unplanned"],
        "retention_lo": 1.0 - at["cif_unplanned_hi"],
        "retention_hi": 1.0 - at["cif_unplanned_lo"],
        "in_program": at["km"],
        "in_program_lo": at["km_lo"],
        "in_program_hi": at["km_hi"],
        "cif_unplanned": at["cif_unplanned"],
        "cif_other": at["cif_other"],
        "estimable": at["estimable"].to_numpy(),
    })
    not_estimable = ~out["estimable"]
    estimate_cols = ["retention", "retention_lo", "retention_hi", "in_program", "in_program_lo",
                     "in_program_hi", "cif_unplanned", "cif_other"]
    out.loc[not_estimable, estimate_cols] = np.nan
    out["low_risk"] = out["n_at_risk"] < MIN_AT_RISK
    out["shown"] = ~(out["low_risk"] | not_estimable).cummax()
    return out


# Each estimate rests on the episodes at risk: hidden when they are few.
CURVE_RATES = tuple(RateSpec(c, None, "n_at_risk") for c in (
    "retention", "retention_lo", "retention_hi", "in_program", "in_program_lo", "in_program_hi",
    "cif_unplanned", "cif_other"))


@suppressed_by(table_spec(("n_at_risk",), group=None, rates=CURVE_RATES))
def retention_curve(cur: duckdb.DuckDBPyConnection, *, by: str | None = None, weeks=WEEKS) -> pd.DataFrame:
    """Retention and in-program curves at weeks (default 0..12), overall or per group of `by`.

    With `by`, the first column is named after the dimension (None for a missing
    extra value). See curve_at_weeks() for the other columns. Empty selection:
    without `by`, rows with NaN estimates and n_at_risk 0; with `by`, no rows.
    """
    parts = []
    for grp, fit in fits(cur, by).items():
        part = curve_at_weeks(fit, weeks)
        if by is not None:
            part.insert(0, by, grp)
        parts.append(part)
    if not parts:
        empty = curve_at_weeks(fit_counts([], [], [], []), weeks).iloc[0:0]
        empty.insert(0, by, pd.Series(dtype="object"))
        return empty
    return pd.concat(parts, ignore_index=True)


def survival_steps(cur: duckdb.DuckDBPyConnection, *, by: str | None = None) -> pd.DataFrame:
    """The full step functions (survival.STEP_COLUMNS) with retention = 1 - cif_unplanned.

    One row per distinct time per group; with `by`, a first column named after it.
    """
    parts = []
    for grp, fit in fits(cur, by).items():
        part = fit.steps.copy()
        part["retention"] = 1.0 - part["cif_unplanned"]
        part["retention_lo"] = 1.0 - part["cif_unplanned_hi"]
        part["retention_hi"] = 1.0 - part["cif_unplanned_lo"]
        if by is not None:
            part.insert(0, by, grp)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def headline(
    cur: duckdb.DuckDBPyConnection, weeks=(4, 8, 12), counts: pd.DataFrame | None = None
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """({week_w: retention}, {week_w: in_program}) for the summary; None when not estimable.

    counts: event_counts(cur) when the caller has it already.
    """
    curve = curve_at_weeks(fits(cur, counts=counts)["all"], weeks)
    retention, in_program = {}, {}
    for row in curve.itertuples():
        key = f"week_{row.week}"
        retention[key] = None if pd.isna(row.retention) else float(row.retention)
        in_program[key] = None if pd.isna(row.in_program) else float(row.in_program)
    return retention, in_program


@suppressed_by(table_spec(("n", "n_at_risk"), group=None, rates=CURVE_RATES[:3]))
def cohort_retention(cur: duckdb.DuckDBPyConnection, weeks=range(1, 13)) -> pd.DataFrame:
    """Cohort heatmap: admission month x program week, retention per cell.

    Each cohort is its own Aalen-Johansen fit, so its active episodes are
    censored rather than counted as retained or lost. Columns: cohort
    ('YYYY-MM'), week, n (episodes admitted that month), n_at_risk (followed to
    day 7w and still in program), retention (NaN where the cohort has not been
    followed that long), retention_lo, retention_hi, low_risk.
    """
    rows = []
    for cohort, fit in fits(cur, by="cohort").items():
        curve = curve_at_weeks(fit, weeks)
        rows.append(pd.DataFrame({
            "cohort": cohort, "week": curve["week"], "n": fit.n, "n_at_risk": curve["n_at_risk"],
            "retention": curve["retention"], "retention_lo": curve["retention_lo"],
            "retention_hi": curve["retention_hi"], "low_risk": curve["low_risk"],
        }))
    if not rows:
        return pd.DataFrame(columns=["cohort", "week", "n", "n_at_risk", "retention",
                                     "retention_lo", "retention_hi", "low_risk"])
    return pd.concat(rows, ignore_index=True)
