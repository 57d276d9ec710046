"""Scores by program week: the mean score with its 95% interval, and drug-screen positivity.

Definitions (docs/metrics.md, "Clinical outcomes"): program week w = floor((score date -
admission) / 7) + 1, a score before admission in week 1; weeks 1 to 12; every score
counts, as in the measures' by_week.

- scores_by_week(): n, mean and a 95% interval of the mean (mean ± 1.96 · sd / √n, the
  normal approximation; none for a single score).
- positivity_by_week(): for a 0/1 drug screen (uds), screens, positives, the share
  positive and its 95% Wilson interval (which stays within 0-100% for small counts).

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     scores_by_week(cur, "phq9")[["week", "n", "mean"]].head(2)
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics.measures import bound_instruments, instrument_named
from analytics.privacy.suppression import RateSpec, SuppressionSpec, suppressed_by
from analytics.store import sql_text

Z95 = 1.96
# The drug screen of the built-in instruments: 1 positive for a non-prescribed substance, 0 negative.
SCREEN_INSTRUMENT = "uds"


def _weeks(cur: duckdb.DuckDBPyConnection, instrument: str) -> pd.DataFrame:
    ins = instrument_named(cur, instrument)
    return cur.execute(sql_text("metrics/scores_by_week"), {"instruments": bound_instruments((ins,))}).df()


# The weekly figures rest on the week's patients; the interval would give the mean away.
WEEK_SPEC = SuppressionSpec(
    counts=("patients",),
    rates=tuple(RateSpec(c) for c in ("n", "mean", "sd", "lo", "hi")),
    group_size="patients", column_totals=False,
)


@suppressed_by(WEEK_SPEC)
def scores_by_week(cur: duckdb.DuckDBPyConnection, instrument: str) -> pd.DataFrame:
    """week, n (scores), patients, mean, sd, lo, hi (the 95% interval of the mean) for the
    program weeks with scores, in order."""
    raw = _weeks(cur, instrument)
    n = raw["n"].astype("float64")
    out = pd.DataFrame({"week": raw["week"].astype("int64"), "n": raw["n"].astype("int64"),
                        "patients": raw["patients"].astype("int64"), "mean": raw["total"].astype("float64") / n,
                        "sd": raw["sd"].astype("float64")})
    half = Z95 * out["sd"] / np.sqrt(n)
    out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    return out


def wilson_interval(positives: np.ndarray, screens: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of positives / screens (NaN where screens is 0).

    >>> [round(float(v), 3) for v in np.concatenate(wilson_interval(np.array([0]), np.array([10])))]
    [0.0, 0.278]
    """
    x = np.asarray(positives, dtype="float64")
    n = np.asarray(screens, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


# Screens are about one a week per patient, so they are treated as counts of people:
# a small number of positives (or negatives) hides the share and its interval.
POSITIVITY_SPEC = SuppressionSpec(
    counts=("screens", "positives", "patients"),
    rates=tuple(RateSpec(c, "positives", "screens") for c in ("share", "lo", "hi")),
    group_size="patients", column_totals=False,
)


@suppressed_by(POSITIVITY_SPEC)
def positivity_by_week(cur: duckdb.DuckDBPyConnection, instrument: str = SCREEN_INSTRUMENT) -> pd.DataFrame:
    """week, screens, positives, patients, share (positive), lo, hi (95% Wilson interval).

    ValueError when the instrument is not scored 0/1.
    """
    ins = instrument_named(cur, instrument)
    if (ins.min_score, ins.max_score) != (0, 1):
        raise ValueError(f"{instrument} is not a 0/1 screen")
    raw = _weeks(cur, instrument)
    out = pd.DataFrame({"week": raw["week"].astype("int64"), "screens": raw["n"].astype("int64"),
                        "positives": raw["total"].astype("int64"), "patients": raw["patients"].astype("int64")})
    out["share"] = out["positives"] / out["screens"].astype("float64")
    out["lo"], out["hi"] = wilson_interval(out["positives"].to_numpy(), out["screens"].to_numpy())
    return out
