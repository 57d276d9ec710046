"""Kaplan-Meier and Aalen-Johansen estimators on grouped event counts (NumPy only).

Input is one row per distinct time: how many episodes had an unplanned
discharge, another discharge, or were censored at that time. SQL produces
those counts (analytics/sql/event_counts.sql), so only a few hundred rows
cross into Python however many episodes there are.

Conventions (docs/metrics.md, "Retention and time in program"):
- time in days; an episode is at risk at t when its time >= t;
- at a tied time, events come before censoring (a censored episode is still at risk);
- Kaplan-Meier S(t) = P(time in program > t), any discharge an event;
- Aalen-Johansen CIF_k(t) = sum over event times t_j <= t of S(t_j-) d_kj / n_j,
  so CIF_unplanned + CIF_other + S = 1 at every t, by construction;
- 95% CIs: KM by Greenwood's variance on the log(-log S) scale; a CIF by the
  delta-method (Greenwood-type) variance of Marubini & Valsecchi (1995), also
  given in Pintilie (2006), on the log(-log CIF) scale, so limits stay in [0, 1].

>>> fit = fit_counts(times=[0, 3, 5], unplanned=[1, 0, 1], other=[0, 1, 0], censored=[0, 1, 2])
>>> fit.at([0, 4]).cif_unplanned.tolist()
[0.1666..., 0.1666...]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

Z95 = 1.959963984540054

# event codes used by the per-episode arrays and the SQL
CENSORED, UNPLANNED, OTHER = 0, 1, 2

STEP_COLUMNS: tuple[str, ...] = (
    "time", "n_at_risk", "unplanned", "other", "censored",
    "km", "km_lo", "km_hi", "km_se",
    "cif_unplanned", "cif_unplanned_lo", "cif_unplanned_hi", "cif_unplanned_se",
    "cif_other", "cif_other_lo", "cif_other_hi", "cif_other_se",
)


@dataclass(frozen=True)
class SurvivalFit:
    """The fitted step functions; `steps` has one row per distinct time (STEP_COLUMNS).

    Values in a row hold from that time until the next row's time (right-continuous).
    """

    steps: pd.DataFrame
    n: int  # episodes in the fit

    def at(self, days: Iterable[float]) -> pd.DataFrame:
        """Estimates at the given days: each value is the step in force at t,
        n_at_risk the number with time >= t, and `estimable` False once nobody is
        followed to t while S(t) > 0 (the curve is unknown beyond the last follow-up).
        """
        days = np.asarray(list(days), dtype="float64")
        s = self.steps
        times = s["time"].to_numpy(dtype="float64")
        idx = np.searchsorted(times, days, side="right") - 1
        out = {"day": days}
        for col in STEP_COLUMNS[5:]:
            values = s[col].to_numpy(dtype="float64")
            start = 1.0 if col in ("km", "km_lo", "km_hi") else 0.0
            out[col] = np.where(idx >= 0, values[np.clip(idx, 0, None)] if len(values) else start, start)
        out["n_at_risk"] = self.n_at_risk(days)
        out = pd.DataFrame(out)
        out["estimable"] = (out["n_at_risk"] > 0) | (out["km"] <= 0.0)
        if self.n == 0:
            for col in STEP_COLUMNS[5:]:
                out[col] = np.nan
            out["estimable"] = False
        return out

    def n_at_risk(self, days: np.ndarray) -> np.ndarray:
        """Episodes with time >= t, for each t in days."""
        s = self.steps
        times = s["time"].to_numpy(dtype="float64")
        leaving = (s["unplanned"] + s["other"] + s["censored"]).to_numpy(dtype="int64")
        # episodes with time >= t = n - those whose time < t
        left_before = np.concatenate([[0], np.cumsum(leaving)])
        k = np.searchsorted(times, np.asarray(days, dtype="float64"), side="left")
        return (self.n - left_before[k]).astype("int64")


def fit_counts(
    times: Sequence[float],
    unplanned: Sequence[int],
    other: Sequence[int],
    censored: Sequence[int],
) -> SurvivalFit:
    """Fit KM and both CIFs from counts per time (times need not be sorted or distinct)."""
    frame = pd.DataFrame({
        "time": np.asarray(times, dtype="float64"),
        "unplanned": np.asarray(unplanned, dtype="int64"),
        "other": np.asarray(other, dtype="int64"),
        "censored": np.asarray(censored, dtype="int64"),
    })
    frame = frame.groupby("time", as_index=False, sort=True).sum()
    t = frame["time"].to_numpy()
    d1 = frame["unplanned"].to_numpy(dtype="float64")
    d2 = frame["other"].to_numpy(dtype="float64")
    c = frame["censored"].to_numpy(dtype="float64")
    d = d1 + d2
    leaving = d + c
    n_total = int(leaving.sum())
    # at risk at t_j: everyone whose time >= t_j
    n = n_total - (np.cumsum(leaving) - leaving)

    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n > 0, d / n, 0.0)
        km = np.cumprod(1.0 - hazard)
        km_before = np.concatenate([[1.0], km[:-1]])  # S(t_j-)
        cif1 = np.cumsum(km_before * np.where(n > 0, d1 / n, 0.0))
        cif2 = np.cumsum(km_before * np.where(n > 0, d2 / n, 0.0))

        # Greenwood: Var S(t) = S(t)^2 sum d/(n(n-d)). A step where everyone left
        # (n == d) drives S to 0; its term is set to 0, as S's CI is then [0, 0].
        g = np.where((n > d) & (n > 0), d / (n * (n - d)), 0.0)
        greenwood = np.cumsum(g)
        km_lo, km_hi = _loglog_ci(km, km * km * greenwood)
        var1 = _cif_variance(cif1, km_before, d1, n, g)
        var2 = _cif_variance(cif2, km_before, d2, n, g)
        cif1_lo, cif1_hi = _loglog_ci(cif1, var1)
        cif2_lo, cif2_hi = _loglog_ci(cif2, var2)

    steps = pd.DataFrame({
        "time": t, "n_at_risk": n.astype("int64"),
        "unplanned": d1.astype("int64"), "other": d2.astype("int64"), "censored": c.astype("int64"),
        "km": km, "km_lo": km_lo, "km_hi": km_hi, "km_se": np.sqrt(km * km * greenwood),
        "cif_unplanned": cif1, "cif_unplanned_lo": cif1_lo, "cif_unplanned_hi": cif1_hi,
        "cif_unplanned_se": np.sqrt(var1),
        "cif_other": cif2, "cif_other_lo": cif2_lo, "cif_other_hi": cif2_hi,
        "cif_other_se": np.sqrt(var2),
    }, columns=list(STEP_COLUMNS))
    return SurvivalFit(steps=steps, n=n_total)


def fit_episodes(times: Sequence[float], events: Sequence[int]) -> SurvivalFit:
    """Fit from one (time, event) pair per episode; events are CENSORED, UNPLANNED or OTHER."""
    times = np.asarray(times, dtype="float64")
    events = np.asarray(events, dtype="int64")
    return fit_counts(
        times,
        (events == UNPLANNED).astype("int64"),
        (events == OTHER).astype("int64"),
        (events == CENSORED).astype("int64"),
    )


def _cif_variance(
    cif: np.ndarray, km_before: np.ndarray, dk: np.ndarray, n: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """Delta-method variance of a CIF at every step time t (Marubini & Valsecchi 1995):

    Var F(t) = sum_{t_j <= t} [ (F(t) - F(t_j))^2 d_j / (n_j (n_j - d_j))
                               + S(t_j-)^2 d_kj (n_j - d_kj) / n_j^3
                               - 2 (F(t) - F(t_j)) S(t_j-) d_kj / n_j^2 ].

    The squares are expanded into running sums, so all steps cost O(number of steps).
    With one cause only, it equals Greenwood's variance of 1 - S.
    """
    safe_n = np.where(n > 0, n, 1.0)
    a = np.cumsum(g)
    b = np.cumsum(cif * g)
    cc = np.cumsum(cif * cif * g)
    binom = np.cumsum(km_before ** 2 * dk * (n - dk) / safe_n ** 3)
    w = km_before * dk / safe_n ** 2
    e = np.cumsum(w)
    h = np.cumsum(cif * w)
    var = cif * cif * a - 2.0 * cif * b + cc + binom - 2.0 * (cif * e - h)
    return np.clip(var, 0.0, None)


def _loglog_ci(p: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% limits for a probability p on the log(-log p) scale.

    theta = log(-log p), se(theta) = se(p) / |p log p|; p = exp(-exp(theta)) falls
    as theta rises, so lower = p^exp(z se), upper = p^exp(-z se). At p = 0 or 1 the
    transform is undefined and the limits are the point itself.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = (p > 0.0) & (p < 1.0)
        se_theta = np.where(inner, np.sqrt(var) / np.abs(p * np.log(np.where(inner, p, 0.5))), 0.0)
        lo = np.where(inner, np.power(p, np.exp(Z95 * se_theta)), p)
        hi = np.where(inner, np.power(p, np.exp(-Z95 * se_theta)), p)
    return lo, hi
