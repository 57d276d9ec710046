"""Change from baseline, episode by episode: the Jacobson-Truax plot and the change categories.

Definitions (docs/metrics.md, "Clinical outcomes"): a pair is an episode with scores on
two or more dates, from its baseline to its follow-up; reliably improved and reliably
deteriorated mean a change of at least the instrument's reliable change; the rest show
no reliable change; recovered means a baseline in the clinical range and a follow-up
out of it.

- change_points(): the pairs per (baseline, follow-up) score, for the plot drawn point by
  point. Patient-level (a point may be one episode): only for roles with patient-level
  rights, never suppressed into anything else and never exported.
- change_grid(): the same pairs counted in square cells of bin_width() points, every cell
  listed (0 where empty); small cells are hidden by the declared suppression, so an
  analyst's view and the packet show the picture without small counts.
- change_categories(): the categories per site, program, cohort or extra column.

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     change_grid(cur, "phq9").head(2)
"""
from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

from analytics.instruments import Instrument
from analytics.metrics.breakdowns import dimension_sql, with_dimension
from analytics.metrics.measures import bound_instruments, instrument_named
from analytics.privacy.roles import PatientLevelDenied
from analytics.privacy.suppression import RateSpec, SuppressionSpec, suppressed_by
from analytics.store import sql_text

# Cells per side of the binned plot: enough to show the shape, few enough that cells hold people.
GRID_CELLS = 6
CATEGORIES: tuple[str, ...] = ("reliably_improved", "no_reliable_change", "reliably_deteriorated")


def bin_width(instrument: Instrument) -> int:
    """Score points per cell side: the range in GRID_CELLS cells (PHQ-9 0-27: 5, so the cells
    start at 0, 5, 10 (caseness), ...; GAD-7 0-21: 4, with 8 (caseness) a cell edge).

    >>> bin_width(Instrument("phq9", "PHQ-9", 0, 27, False, 14))
    5
    """
    return max(1, math.ceil((instrument.max_score - instrument.min_score + 1) / GRID_CELLS))


def _refuse(result: Any, *args: Any, threshold: int | None = None, **kwargs: Any) -> Any:
    raise PatientLevelDenied("Point-by-point change is patient-level; this role sees the binned plot.")


@suppressed_by(hide=_refuse)
def change_points(cur: duckdb.DuckDBPyConnection, instrument: str) -> pd.DataFrame:
    """baseline, followup, episodes: the instrument's pairs per pair of scores (patient-level)."""
    ins = instrument_named(cur, instrument)
    return cur.execute(sql_text("metrics/change_points"), {"instruments": bound_instruments((ins,))}).df()


# Every cell's total is the pairs tile, so one hidden cell alone could be worked out:
# complementary suppression runs across the cells.
GRID_SPEC = SuppressionSpec(counts=("episodes", "patients"), column_totals=True)


@suppressed_by(GRID_SPEC)
def change_grid(cur: duckdb.DuckDBPyConnection, instrument: str) -> pd.DataFrame:
    """Every cell of the binned plot: baseline_from, baseline_to, followup_from, followup_to,
    episodes (pairs in the cell; 0 when none), patients."""
    ins = instrument_named(cur, instrument)
    width = bin_width(ins)
    found = cur.execute(sql_text("metrics/change_grid"), {
        "instruments": bound_instruments((ins,)), "min_score": ins.min_score, "width": width}).df()
    starts = list(range(ins.min_score, ins.max_score + 1, width))
    cells = pd.DataFrame([(b, f) for b in starts for f in starts], columns=["baseline_from", "followup_from"])
    out = cells.merge(found, how="left", on=["baseline_from", "followup_from"])
    out[["episodes", "patients"]] = out[["episodes", "patients"]].fillna(0).astype("int64")
    out.insert(1, "baseline_to", (out["baseline_from"] + width - 1).clip(upper=ins.max_score))
    out.insert(3, "followup_to", (out["followup_from"] + width - 1).clip(upper=ins.max_score))
    return out


CATEGORY_SPEC = SuppressionSpec(
    counts=("pairs", *CATEGORIES, "at_caseness", "recovered", "patients"),
    rates=(*(RateSpec(f"{c}_share", c, "pairs") for c in CATEGORIES),
           RateSpec("recovery_rate", "recovered", "at_caseness")),
    group_size="patients", column_totals=True,
    # the three categories add up to the pairs
    row_groups=((*CATEGORIES, "pairs"),),
)


@suppressed_by(CATEGORY_SPEC)
def change_categories(cur: duckdb.DuckDBPyConnection, instrument: str, dimension: str) -> pd.DataFrame:
    """Per value of the dimension (site, program, cohort or an extra enrollment column): pairs,
    reliably_improved, no_reliable_change, reliably_deteriorated (counts and _share of the
    pairs), at_caseness, recovered and recovery_rate, patients. Categories are None for an
    instrument without a reliable change, at_caseness and recovery for one without a
    clinical range (NaN). The first column is named after the dimension."""
    ins = instrument_named(cur, instrument)
    expression, params = dimension_sql(cur, dimension, level="episode")
    sql = with_dimension(sql_text("metrics/change_categories"), expression)
    out = cur.execute(sql, {"instruments": bound_instruments((ins,)), **params}).df()
    # NaN (not 0) where the instrument has no such threshold: nothing was judged
    if ins.reliable_change is None:
        out[list(CATEGORIES)] = float("nan")
    if ins.caseness is None:
        out[["at_caseness", "recovered"]] = float("nan")
    for c in CATEGORIES:
        out[f"{c}_share"] = _shares(out[c], out["pairs"])
    out["recovery_rate"] = _shares(out["recovered"], out["at_caseness"])
    columns = ["dimension_value", "pairs", *CATEGORIES, *(f"{c}_share" for c in CATEGORIES), "at_caseness",
               "recovered", "recovery_rate", "patients"]
    return out[columns].rename(columns={"dimension_value": dimension})


def _shares(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as floats; NaN where either is missing or the denominator is 0."""
    num = pd.to_numeric(numerator, errors="coerce").astype("float64")
    den = pd.to_numeric(denominator, errors="coerce").astype("float64")
    return (num / den.where(den > 0)).astype("float64")
