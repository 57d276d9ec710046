"""Access and early engagement: waits, NIATx continuation, IET-style initiation and engagement,
referral outcomes (docs/metrics.md, "Access and early engagement").

Named intake, not access, so it cannot be confused with access control
(analytics/privacy/roles.py); the metrics command's JSON key is `access`. The rules
live in two SQL macros (analytics/store/macros.py): intake_episodes() gives each
selected episode its first contact, wait, care days and IET-style windows;
selected_referrals() selects referrals by their own site, program, columns and first
contact, and reads an admission after as_of as pending. The queries here only count.
Initiation and engagement are IET-style (the program's own sessions), never the HEDIS
measure.

>>> with store.read() as cur:
...     bind_filters(cur, Filters(sites=("North",)))
...     access_summary(cur).to_dict()["continuation"]["day_4"]
0.71...
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics.breakdowns import dimension_sql, with_dimension
from analytics.privacy.suppression import (
    RateSpec, SuppressionSpec, suppress_kpis, suppressed_by,
)
from analytics.store import fetch_df, sql_text
from analytics.store.schema import REFERRAL_OUTCOMES

# The `access` object of `python -m analytics metrics`, exactly these keys in this order.
ACCESS_KEYS: tuple[str, ...] = (
    "median_wait_days", "wait_measured", "continuation", "continuation_eligible", "iet_eligible",
    "initiation_rate", "engagement_rate", "referrals", "referral_outcomes", "admission_rate",
    "median_days_to_intake_assessment",
)
OUTCOMES: tuple[str, ...] = REFERRAL_OUTCOMES
CARE_DAYS: tuple[int, ...] = (1, 2, 3, 4)  # NIATx: continuation to the 4th unit of care
OUTCOME_LABELS = {
    "admitted": "Admitted", "declined": "Declined", "not_eligible": "Not eligible", "no_show": "No-show",
    "referred_elsewhere": "Referred elsewhere", "pending": "Pending",
}
# The path of intake_contact_funnel.sql: (column, label), in order.
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("contacts", "First contact"),
    ("assessed", "Intake assessment"),
    ("admitted", "Admitted"),
    ("day_1", "1st day of care"),
    ("day_2", "2nd day of care"),
    ("day_3", "3rd day of care"),
    ("day_4", "4th day of care"),
)
# Lower edges of the wait bins (days): same day, next 1-3 days, the rest of the first
# week, then weeks, with a long tail. The first edge is below any wait.
WAIT_BIN_EDGES: tuple[int, ...] = (-100_000, 0, 1, 4, 8, 15, 22, 29, 43, 61)


@dataclass(frozen=True)
class AccessSummary:
    """The access figures for one selection, flat, with the counts behind each rate.

    to_dict() is the metrics command's `access` object; the other fields (the
    numerators and the patients behind each part) are for small-cell suppression.
    Rates and medians are None when there is nothing to divide or no value.
    """

    median_wait_days: float | None
    wait_measured: int
    wait_patients: int
    continuation_eligible: int
    continued_1: int
    continued_2: int
    continued_3: int
    continued_4: int
    continuation_day_1: float | None
    continuation_day_2: float | None
    continuation_day_3: float | None
    continuation_day_4: float | None
    continuation_patients: int
    iet_eligible: int
    initiated: int
    engaged: int
    initiation_rate: float | None
    engagement_rate: float | None
    iet_patients: int
    referrals: int
    admitted: int
    declined: int
    not_eligible: int
    no_show: int
    referred_elsewhere: int
    pending: int
    decided: int  # referrals - pending: the admission rate's denominator
    admission_rate: float | None
    intake_assessed: int
    median_days_to_intake_assessment: float | None
    referral_patients: int

    def to_dict(self) -> dict[str, Any]:
        """The `access` object: exactly ACCESS_KEYS; continuation day_1..day_4; all six outcomes."""
        out: dict[str, Any] = {}
        for key in ACCESS_KEYS:
            if key == "continuation":
                out[key] = {f"day_{k}": getattr(self, f"continuation_day_{k}") for k in CARE_DAYS}
            elif key == "referral_outcomes":
                out[key] = {o: getattr(self, o) for o in OUTCOMES}
            else:
                out[key] = getattr(self, key)
        return out


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def episode_figures(cur: duckdb.DuckDBPyConnection, *, patients: bool = True) -> dict[str, Any]:
    """The episode part of the access figures (waits, continuation, IET-style), with the
    counts behind them; the distinct patients of each part only when `patients`."""
    row = fetch_df(cur, "metrics/intake_episode_summary", {"patients": patients}).iloc[0]
    counts = {c: int(row[c]) for c in row.index if c != "median_wait_days"}
    out: dict[str, Any] = {**counts, "median_wait_days": _number(row["median_wait_days"])}
    for k in CARE_DAYS:
        out[f"continuation_day_{k}"] = _rate(counts[f"continued_{k}"], counts["continuation_eligible"])
    out["initiation_rate"] = _rate(counts["initiated"], counts["iet_eligible"])
    out["engagement_rate"] = _rate(counts["engaged"], counts["iet_eligible"])
    return out


def referral_figures(cur: duckdb.DuckDBPyConnection, *, patients: bool = True) -> dict[str, Any]:
    """The referral part: outcomes as known on as_of (all six), admission rate, days to
    intake assessment; the distinct patients only when `patients`."""
    row = cur.execute(sql_text("metrics/intake_referral_summary"), {"patients": patients}).fetchone()
    row = dict(zip((d[0] for d in cur.description), row))
    found = row["outcomes"] or {}  # a MAP; NULL when no referral is selected
    out: dict[str, Any] = {o: int(found.get(o, 0)) for o in OUTCOMES}
    out["referrals"] = int(row["referrals"])
    out["decided"] = out["referrals"] - out["pending"]
    out["admission_rate"] = _rate(out["admitted"], out["decided"])
    out["intake_assessed"] = int(row["intake_assessed"])
    out["median_days_to_intake_assessment"] = _number(row["median_days_to_intake_assessment"])
    out["referral_patients"] = int(row["referral_patients"])
    return out


# -- suppression of the summary ------------------------------------------------------------
# Each part rests on its own episodes or referrals and patients, so each is suppressed as a
# one-row table of its own (the tiles show all of them at once).
SUMMARY_WAIT_SPEC = SuppressionSpec(counts=("wait_measured",), rates=(RateSpec("median_wait_days"),),
                             group_size="wait_patients", column_totals=False)
SUMMARY_CONTINUATION_SPEC = SuppressionSpec(
    counts=("continuation_eligible", *(f"continued_{k}" for k in CARE_DAYS)),
    rates=tuple(RateSpec(f"continuation_day_{k}", f"continued_{k}", "continuation_eligible") for k in CARE_DAYS),
    group_size="continuation_patients", column_totals=False)
SUMMARY_IET_SPEC = SuppressionSpec(
    counts=("iet_eligible", "initiated", "engaged"),
    rates=(RateSpec("initiation_rate", "initiated", "iet_eligible"),
           RateSpec("engagement_rate", "engaged", "iet_eligible")),
    group_size="iet_patients", column_totals=False)
SUMMARY_REFERRAL_SPEC = SuppressionSpec(
    counts=("referrals", *OUTCOMES, "decided", "intake_assessed"),
    rates=(RateSpec("admission_rate", "admitted", "decided"),
           RateSpec("median_days_to_intake_assessment", None, "intake_assessed")),
    group_size="referral_patients", column_totals=False,
    # the outcomes add up to the referrals, and decided = referrals - pending
    row_groups=((*OUTCOMES, "referrals"), ("decided", "pending", "referrals")))
SUMMARY_SPECS: tuple[SuppressionSpec, ...] = (
    SUMMARY_WAIT_SPEC, SUMMARY_CONTINUATION_SPEC, SUMMARY_IET_SPEC, SUMMARY_REFERRAL_SPEC)


def spec_fields(spec: SuppressionSpec) -> tuple[str, ...]:
    """The fields of the summary a spec reads (its counts, rates and group)."""
    named = [*spec.counts, *(c for r in spec.rates for c in (r.column, r.numerator, r.denominator) if c)]
    return tuple(dict.fromkeys(named + ([spec.group_size] if spec.group_size else [])))


def hide_summary(summary: AccessSummary, *args: Any, threshold: int | None = None, **kwargs: Any) -> AccessSummary:
    """The summary with every value a tile may not show replaced by '<threshold'."""
    values = dataclasses.asdict(summary)
    shown: dict[str, object] = {}
    for spec in SUMMARY_SPECS:
        part = suppress_kpis({f: values[f] for f in spec_fields(spec)}, spec, threshold)
        shown.update({k: v for k, v in part.items() if isinstance(v, str)})
    return dataclasses.replace(summary, **shown)


@suppressed_by(hide=hide_summary)
def access_summary(cur: duckdb.DuckDBPyConnection, *, patients: bool = True) -> AccessSummary:
    """Every access figure for the cursor's selection (episodes and referrals).

    patients=False leaves the distinct patients behind each part at 0 (the metrics
    command shows no suppressed figures, so it skips that work); such a summary must
    not be shown suppressed.
    """
    return AccessSummary(**episode_figures(cur, patients=patients), **referral_figures(cur, patients=patients))


# -- the Access page's tables ---------------------------------------------------------------
_STEPS = tuple(column for column, _ in FUNNEL_STEPS)
FUNNEL_SPEC = SuppressionSpec(
    counts=_STEPS + tuple(f"drop_{step}" for step in _STEPS[1:]),
    group_size="patients", column_totals=False,
    # each step is the one before minus those who stopped there: with two of the three
    # figures shown (the step before, the step, the drop) the third would be known
    row_groups=tuple((before, step, f"drop_{step}") for before, step in zip(_STEPS, _STEPS[1:])),
)


@suppressed_by(FUNNEL_SPEC)
def contact_funnel(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row: referrals at each step of the path from first contact to the 4th day of care
    (FUNNEL_STEPS), the drop at each step (`drop_<step>`), and their distinct patients.

    Over the selected referrals with a first contact on or before as_of - 28; each step
    counts the referrals that reached it and every step before it.
    """
    row = fetch_df(cur, "metrics/intake_contact_funnel")
    for (before, _), (step, _) in zip(FUNNEL_STEPS, FUNNEL_STEPS[1:]):
        row[f"drop_{step}"] = row[before] - row[step]
    return row


def funnel_steps(wide: pd.DataFrame) -> pd.DataFrame:
    """contact_funnel()'s row as one row per step: step, label, referrals, drop (from the
    step before), share_of_contacts. Hidden cells ('<11' or NaN) stay hidden, and a share
    built on a hidden count is hidden too.

    >>> funnel_steps(contact_funnel(cur))["label"].tolist()[:2]
    ['First contact', 'Intake assessment']
    """
    if wide.empty:
        return pd.DataFrame(columns=["step", "label", "referrals", "drop", "share_of_contacts"])
    row = wide.iloc[0]
    contacts = pd.to_numeric(pd.Series([row["contacts"]]), errors="coerce").iloc[0]
    rows = []
    for i, (column, label) in enumerate(FUNNEL_STEPS):
        value = row[column]
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        share = number / contacts if pd.notna(number) and pd.notna(contacts) and contacts > 0 else np.nan
        if isinstance(value, str):
            share = value
        rows.append({"step": i + 1, "label": label, "referrals": value,
                     "drop": row[f"drop_{column}"] if i else None, "share_of_contacts": share})
    return pd.DataFrame(rows)


OUTCOMES_SPEC = SuppressionSpec(
    counts=(*OUTCOMES, "referrals"), column_totals=True,
    # a month's outcomes add up to its referrals (the height of its bar)
    row_groups=((*OUTCOMES, "referrals"),))


@suppressed_by(OUTCOMES_SPEC)
def outcomes_by_month(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Selected referrals per month of first contact ('YYYY-MM'): one column per outcome
    (OUTCOMES, as known on as_of), the month's referrals and distinct patients."""
    long = fetch_df(cur, "metrics/intake_outcomes_by_month")
    columns = ["month", *OUTCOMES, "referrals", "patients"]
    if long.empty:
        return pd.DataFrame(columns=columns)
    totals = long[long["outcome"].isna()].set_index("month")[["referrals", "patients"]]
    cells = long.dropna(subset=["outcome"]).pivot(index="month", columns="outcome", values="referrals")
    wide = cells.reindex(columns=list(OUTCOMES)).fillna(0).astype("int64").rename_axis(columns=None).join(totals)
    return wide.reset_index()[columns]


@suppressed_by(SuppressionSpec(counts=("episodes",), column_totals=True))
def wait_distribution(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Episodes by wait (first contact to first attended session), in the bins of
    WAIT_BIN_EDGES: bin, label, from_days, to_days (None: open), episodes, patients.
    Every bin is listed, empty ones with 0."""
    counts = fetch_df(cur, "metrics/intake_wait_histogram", {"edges": list(WAIT_BIN_EDGES)})
    found = counts.set_index("bin")
    rows = []
    for i, lo in enumerate(WAIT_BIN_EDGES, start=1):
        hi = WAIT_BIN_EDGES[i] - 1 if i < len(WAIT_BIN_EDGES) else None
        if i == 1:
            label = "before first contact"
        elif hi is None:
            label = f"{lo}+ days"
        elif lo == hi:
            label = "same day" if lo == 0 else f"{lo} day{'s' if lo != 1 else ''}"
        else:
            label = f"{lo}-{hi} days"
        episodes = int(found.at[i, "episodes"]) if i in found.index else 0
        patients = int(found.at[i, "patients"]) if i in found.index else 0
        rows.append({"bin": i, "label": label, "from_days": None if i == 1 else lo, "to_days": hi,
                     "episodes": episodes, "patients": patients})
    out = pd.DataFrame(rows).astype({"from_days": "Int64", "to_days": "Int64"})
    # a wait before the first contact needs a session before the request: listed only when seen
    return out[(out["bin"] > 1) | (out["episodes"] > 0)].reset_index(drop=True)


WAITS_SPEC = SuppressionSpec(
    counts=("episodes",), column_totals=True,
    rates=(RateSpec("median_wait_days"), RateSpec("q1_wait_days"), RateSpec("q3_wait_days")),
    group_size="patients")


@suppressed_by(WAITS_SPEC)
def waits_by_month(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The wait by month of first contact: month, episodes, patients, median_wait_days,
    q1_wait_days, q3_wait_days (episodes with a known wait only)."""
    return fetch_df(cur, "metrics/intake_waits_by_month")


CONTINUATION_SPEC = SuppressionSpec(
    counts=("eligible", *(f"continued_{k}" for k in CARE_DAYS)), column_totals=True,
    rates=tuple(RateSpec(f"day_{k}", f"continued_{k}", "eligible") for k in CARE_DAYS),
    group_size="patients")


@suppressed_by(CONTINUATION_SPEC)
def continuation_by(cur: duckdb.DuckDBPyConnection, dimension: str) -> pd.DataFrame:
    """NIATx continuation per value of an episode dimension (site, program, cohort, extra
    column): the dimension, eligible, continued_1..4 (episodes with at least k days of
    care in their first 28), day_1..day_4 (their shares), patients."""
    expression, params = dimension_sql(cur, dimension, level="episode")
    table = cur.execute(with_dimension(sql_text("metrics/intake_continuation_by"), expression), params).df()
    for k in CARE_DAYS:
        table[f"day_{k}"] = table[f"continued_{k}"] / table["eligible"].where(table["eligible"] > 0)
    table = table.rename(columns={"dimension_value": dimension})
    return table[[dimension, "eligible", *(f"continued_{k}" for k in CARE_DAYS),
                  *(f"day_{k}" for k in CARE_DAYS), "patients"]]


IET_SPEC = SuppressionSpec(
    counts=("eligible", "initiated", "engaged"), column_totals=True,
    rates=(RateSpec("initiation_rate", "initiated", "eligible"), RateSpec("engagement_rate", "engaged", "eligible")),
    group_size="patients")


@suppressed_by(IET_SPEC)
def iet_by_month(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """IET-style initiation and engagement by month of the index date: month, eligible,
    initiated, engaged, initiation_rate, engagement_rate, patients."""
    table = fetch_df(cur, "metrics/intake_iet_by_month")
    eligible = table["eligible"].where(table["eligible"] > 0)
    table["initiation_rate"] = table["initiated"] / eligible
    table["engagement_rate"] = table["engaged"] / eligible
    return table[["month", "eligible", "initiated", "engaged", "initiation_rate", "engagement_rate", "patients"]]
