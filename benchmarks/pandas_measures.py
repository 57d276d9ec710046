"""Clinical outcome measures per instrument, vectorised in pandas.

Written from the definitions in docs/metrics.md ("Clinical outcomes"), independently
of the SQL. It is the second implementation the measures are checked against
(tests/test_reference_measures.py, with the hand-worked cases in tests/fixtures/measures/)
and the pandas baseline a benchmark times.

The result is the `measures` object of `python -m analytics metrics --format json`:
one entry per configured instrument, each with exactly MEASURE_KEYS.

>>> enrollments, sessions, assessments = load_measure_frames(store)
>>> pandas_measures(enrollments, assessments, builtin_instruments(), sessions=sessions)["phq9"]["pairs"]
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from fractions import Fraction
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from analytics.filters import EVERYTHING, Filters, Scope
from benchmarks.pandas_selection import (
    ASSESSMENT_FRAME, ENROLLMENT_FRAME, SESSION_FRAME, check_filter_columns, day_numbers, rate, read_table,
    resolve_as_of, selected_episodes,
)

MEASURE_KEYS: tuple[str, ...] = (
    "measured_episodes", "pairs", "mean_baseline", "mean_followup", "mean_change",
    "reliable_improvement_rate", "reliable_deterioration_rate", "at_caseness", "recovery_rate",
    "reliable_recovery_rate", "remission_rate", "response_rate", "due_windows",
    "completed_windows", "measurement_completion_rate", "by_week",
)
LAST_LISTED_WEEK = 12
# Window 0 also takes the intake screening done in the 30 days before admission.
PRE_ADMISSION_DAYS = 30


@dataclass(frozen=True)
class Instrument:
    """One configured instrument (config/instruments.toml).

    caseness, reliable_change, remission_below and response_drop are None where the
    instrument has none; programs empty means every program uses it.

    >>> Instrument.from_dict({"name": "phq9", "label": "PHQ-9", "min": 0, "max": 27,
    ...     "higher_is": "worse", "every_days": 14, "response_drop": 0.5}).response_drop
    Fraction(1, 2)
    """

    name: str
    label: str
    min: int
    max: int
    higher_is: str  # "worse" | "better"
    every_days: int
    caseness: int | None = None
    reliable_change: int | None = None
    remission_below: int | None = None
    response_drop: Fraction | None = None
    programs: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # e.g. LOINC codes, for FHIR Observations

    def __post_init__(self) -> None:
        if self.higher_is not in ("worse", "better"):
            raise ValueError(f"{self.name}: higher_is must be 'worse' or 'better', not {self.higher_is!r}")
        if int(self.every_days) <= 0:
            raise ValueError(f"{self.name}: every_days must be a positive whole number")
        if self.response_drop is not None and not 0 < self.response_drop <= 1:
            raise ValueError(f"{self.name}: response_drop must be in (0, 1]")

    @classmethod
    def from_dict(cls, d: Mapping) -> "Instrument":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"instrument {d.get('name')!r}: unknown keys {sorted(unknown)}")
        drop = d.get("response_drop")
        # Held exactly: 0.5 read from TOML is the fraction 1/2, so 14 x 0.5 is 7 exactly.
        drop = None if drop is None else Fraction(str(drop)) if isinstance(drop, float) else Fraction(drop)
        codes = d.get("codes") or ()
        codes = tuple(codes.values()) if isinstance(codes, Mapping) else tuple(codes)
        return cls(
            name=d["name"], label=d.get("label", d["name"]), min=int(d["min"]), max=int(d["max"]),
            higher_is=d["higher_is"], every_days=int(d["every_days"]),
            caseness=d.get("caseness"), reliable_change=d.get("reliable_change"),
            remission_below=d.get("remission_below"), response_drop=drop,
            programs=tuple(d.get("programs") or ()), codes=codes,
        )

    def as_dict(self) -> dict:
        out = asdict(self)
        out["programs"], out["codes"] = list(self.programs), list(self.codes)
        return out

    def in_clinical_range(self, scores: np.ndarray) -> np.ndarray:
        """Scores at caseness: >= it when higher is worse, <= it when higher is better."""
        if self.higher_is == "worse":
            return scores >= self.caseness
        return scores <= self.caseness

    def improvement(self, baseline: np.ndarray, followup: np.ndarray) -> np.ndarray:
        """A decrease when higher is worse, an increase otherwise."""
        return baseline - followup if self.higher_is == "worse" else followup - baseline


def builtin_instruments() -> tuple[Instrument, ...]:
    """The six built-in instruments, with the ranges and thresholds of their published scoring."""
    half = Fraction(1, 2)
    return (
        Instrument("phq9", "PHQ-9", 0, 27, "worse", 14, caseness=10, reliable_change=6,
                   remission_below=5, response_drop=half, codes=("44261-6",)),
        Instrument("gad7", "GAD-7", 0, 21, "worse", 14, caseness=8, reliable_change=4,
                   remission_below=5, codes=("70274-6",)),
        Instrument("bam_use", "BAM use (items 4+5+6)", 0, 12, "worse", 30, remission_below=1),
        Instrument("bam_risk", "BAM risk factors", 0, 24, "worse", 30),
        Instrument("bam_protective", "BAM protective factors", 0, 24, "better", 30),
        Instrument("uds", "Drug screen (1 positive, 0 negative)", 0, 1, "worse", 7),
    )


def as_instruments(instruments: Iterable[Instrument | Mapping]) -> tuple[Instrument, ...]:
    """Instruments given as dataclasses or as dicts with the keys of an instruments config entry; names unique."""
    out = tuple(i if isinstance(i, Instrument) else Instrument.from_dict(i) for i in instruments)
    names = [i.name for i in out]
    if len(set(names)) != len(names):
        raise ValueError(f"instrument names must be unique: {names}")
    return out


def load_measure_frames(store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """enrollments, sessions and assessments from the store (dates as datetime64), not timed."""
    with store.read() as cur:
        return (read_table(cur, "enrollments", ENROLLMENT_FRAME), read_table(cur, "sessions", SESSION_FRAME),
                read_table(cur, "assessments", ASSESSMENT_FRAME))


def _counts(ins: Instrument, pairs: pd.DataFrame, measured: int, due: int, completed: int) -> dict:
    """The counts one instrument's figures are divided from (None where it has no such threshold).

    pairs: baseline, followup as int64 arrays, one row per pair.
    """
    b = pairs["baseline"].to_numpy(dtype="int64")
    f = pairs["followup"].to_numpy(dtype="int64")
    n = len(b)
    out: dict = {"measured_episodes": int(measured), "pairs": int(n),
                 "baseline_sum": int(b.sum()), "followup_sum": int(f.sum())}
    improvement = ins.improvement(b, f)
    reliably_improved = None
    out["reliably_improved"] = out["reliably_deteriorated"] = None
    if ins.reliable_change is not None:
        reliably_improved = improvement >= ins.reliable_change
        out["reliably_improved"] = int(reliably_improved.sum())
        out["reliably_deteriorated"] = int((-improvement >= ins.reliable_change).sum())
    at_case = None
    out["at_caseness"] = out["recovered"] = out["reliably_recovered"] = None
    if ins.caseness is not None:
        at_case = ins.in_clinical_range(b)
        recovered = at_case & ~ins.in_clinical_range(f)
        out["at_caseness"], out["recovered"] = int(at_case.sum()), int(recovered.sum())
        if reliably_improved is not None:
            out["reliably_recovered"] = int((recovered & reliably_improved).sum())
    out["remission_eligible"] = out["remitted"] = None
    if ins.remission_below is not None:
        eligible = at_case if at_case is not None else b >= ins.remission_below
        out["remission_eligible"] = int(eligible.sum())
        out["remitted"] = int((eligible & (f < ins.remission_below)).sum())
    out["responded"] = None
    if ins.response_drop is not None and at_case is not None:
        # follow-up <= baseline x (1 - p/q)  <=>  q x follow-up <= (q - p) x baseline, in integers
        p, q = ins.response_drop.numerator, ins.response_drop.denominator
        out["responded"] = int((at_case & (q * f <= (q - p) * b)).sum())
    out["due_windows"], out["completed_windows"] = int(due), int(completed)
    return out


def _figures(c: dict, by_week: list[dict]) -> dict:
    """The JSON object of one instrument from its counts (_counts)."""
    n = c["pairs"]
    return {
        "measured_episodes": c["measured_episodes"], "pairs": n,
        # Sums of whole numbers are exact; one division gives the correctly rounded mean.
        "mean_baseline": c["baseline_sum"] / n if n else None,
        "mean_followup": c["followup_sum"] / n if n else None,
        "mean_change": (c["followup_sum"] - c["baseline_sum"]) / n if n else None,
        "reliable_improvement_rate": None if c["reliably_improved"] is None else rate(c["reliably_improved"], n),
        "reliable_deterioration_rate":
            None if c["reliably_deteriorated"] is None else rate(c["reliably_deteriorated"], n),
        "at_caseness": c["at_caseness"],
        "recovery_rate": None if c["recovered"] is None else rate(c["recovered"], c["at_caseness"]),
        "reliable_recovery_rate":
            None if c["reliably_recovered"] is None else rate(c["reliably_recovered"], c["at_caseness"]),
        "remission_rate": None if c["remitted"] is None else rate(c["remitted"], c["remission_eligible"]),
        "response_rate": None if c["responded"] is None else rate(c["responded"], c["at_caseness"]),
        "due_windows": c["due_windows"],
        "completed_windows": c["completed_windows"],
        "measurement_completion_rate": rate(c["completed_windows"], c["due_windows"]),
        "by_week": by_week,
    }


def _scores(assessments: pd.DataFrame, episodes: pd.DataFrame, names: list[str], as_of: float) -> pd.DataFrame:
    """Scores of the selected episodes dated on or before as_of.

    Columns: assessment_id, inst (position in names), ep (row in episodes), day, score, admit.
    """
    inst = pd.Categorical(assessments["instrument"], categories=names).codes.astype("int64")
    row = pd.Series(np.arange(len(episodes), dtype="float64"), index=episodes["episode_id"].to_numpy())
    ep = assessments["episode_id"].map(row).to_numpy(dtype="float64")
    day = day_numbers(assessments["assessment_date"])
    keep = (inst >= 0) & ~np.isnan(ep) & (day <= as_of)
    ep = ep[keep].astype("int64")
    return pd.DataFrame({
        "assessment_id": assessments["assessment_id"].to_numpy()[keep],
        "inst": inst[keep],
        "ep": ep,
        "day": day[keep],
        "score": assessments["score"].to_numpy()[keep].astype("int64"),
        "admit": episodes["admit"].to_numpy()[ep],
    })


def _pairs(scores: pd.DataFrame, n_episodes: int) -> pd.DataFrame:
    """One row per (instrument, episode) with a score: the episode's row, first and last day,
    baseline and follow-up.

    The baseline is the lowest assessment_id (as text) among the scores of the earliest
    day, the follow-up the highest among those of the latest day.
    """
    group = scores["inst"].to_numpy() * max(n_episodes, 1) + scores["ep"].to_numpy()
    day = scores["day"].to_numpy()
    by_group = pd.Series(day).groupby(group)
    first_day, last_day = by_group.min(), by_group.max()

    def pick(on_day: pd.Series, keep: str) -> pd.Series:
        # only the scores dated on the group's first (or last) day are candidates
        at = day == on_day.reindex(group).to_numpy()
        cand = pd.DataFrame({"group": group[at], "id": scores["assessment_id"].to_numpy()[at].astype(str),
                             "score": scores["score"].to_numpy()[at]})
        cand = cand.sort_values(["group", "id"], kind="mergesort").drop_duplicates("group", keep=keep)
        return cand.set_index("group")["score"]

    baseline, followup = pick(first_day, "first"), pick(last_day, "last")
    keys = first_day.index.to_numpy()
    return pd.DataFrame({
        "inst": keys // max(n_episodes, 1),
        "ep": keys % max(n_episodes, 1),
        "first_day": first_day.to_numpy(), "last_day": last_day.to_numpy(),
        "baseline": baseline.reindex(keys).to_numpy(dtype="int64"),
        "followup": followup.reindex(keys).to_numpy(dtype="int64"),
    })


def _by_week(scores: pd.DataFrame) -> dict[int, list[dict]]:
    """Per instrument, the number and mean of scores in program weeks 1..12 (before admission: week 1)."""
    since = scores["day"].to_numpy() - scores["admit"].to_numpy()
    week = np.where(since >= 0, np.floor_divide(since, 7) + 1, 1).astype("int64")
    s = scores.assign(week=week)
    s = s[s["week"] <= LAST_LISTED_WEEK]
    grouped = s.groupby(["inst", "week"], sort=True)["score"].agg(["size", "sum"])
    out: dict[int, list[dict]] = {}
    for (inst, w), row in grouped.iterrows():
        out.setdefault(int(inst), []).append({"week": int(w), "n": int(row["size"]),
                                              "mean": int(row["sum"]) / int(row["size"])})
    return out


def _completion(ins: Instrument, episodes: pd.DataFrame, mine: pd.DataFrame, as_of: float) -> tuple[int, int]:
    """(due, completed) windows over the selected episodes of the programs that use the instrument."""
    uses = np.ones(len(episodes), dtype=bool) if not ins.programs else episodes["program"].isin(
        ins.programs).to_numpy()
    admit = episodes["admit"].to_numpy()
    end = np.where(np.isnan(episodes["discharge"].to_numpy()), as_of, episodes["discharge"].to_numpy())
    last_window = np.floor_divide(end - admit, ins.every_days)  # windows 0..last_window are due
    due = int(np.clip(last_window[uses] + 1, 0, None).sum())
    ep = mine["ep"].to_numpy()
    since = mine["day"].to_numpy() - mine["admit"].to_numpy()
    window = np.where(since >= 0, np.floor_divide(since, ins.every_days),
                      np.where(since >= -PRE_ADMISSION_DAYS, 0, -1))
    inside = uses[ep] & (window >= 0) & (window <= last_window[ep])
    # one key per (episode, window): windows of an episode never reach the stride
    stride = int(last_window.max(initial=0)) + 1
    keys = ep[inside].astype("int64") * stride + window[inside].astype("int64")
    completed = len(np.unique(keys))
    return due, completed


def _per_instrument(enrollments: pd.DataFrame, assessments: pd.DataFrame,
                    instruments: Iterable[Instrument | Mapping], filters: Filters, scope: Scope,
                    as_of: date | None, sessions: pd.DataFrame | None,
                    referrals: pd.DataFrame | None) -> dict[str, tuple[dict, list[dict]]]:
    """{name: (counts, by_week)} for every instrument; counts add the distinct patients
    among the pairs (pair_patients) and among the episodes with windows due (due_patients)."""
    ins = as_instruments(instruments)
    check_filter_columns(filters, enrollments, referrals)
    cutoff = resolve_as_of(as_of, filters, enrollments, sessions)
    episodes = selected_episodes(enrollments, filters, scope, cutoff)
    scores = _scores(assessments, episodes, [i.name for i in ins], cutoff)
    pairs_all = _pairs(scores, len(episodes))
    weeks = _by_week(scores)
    patient = episodes["patient_id"].to_numpy()
    out: dict = {}
    for k, i in enumerate(ins):
        mine = pairs_all[pairs_all["inst"] == k]
        pairs = mine[mine["first_day"] < mine["last_day"]]  # scores on at least two dates
        due, completed = _completion(i, episodes, scores[scores["inst"] == k], cutoff)
        counts = _counts(i, pairs, len(mine), due, completed)
        counts["pair_patients"] = len(set(patient[pairs["ep"].to_numpy()]))
        uses = episodes["program"].isin(i.programs).to_numpy() if i.programs else np.ones(len(episodes), bool)
        counts["due_patients"] = len(set(patient[uses]))
        out[i.name] = (counts, weeks.get(k, []))
    return out


def pandas_measures(enrollments: pd.DataFrame, assessments: pd.DataFrame,
                    instruments: Iterable[Instrument | Mapping], filters: Filters = Filters(),
                    scope: Scope = EVERYTHING, as_of: date | None = None,
                    sessions: pd.DataFrame | None = None,
                    referrals: pd.DataFrame | None = None) -> dict:
    """The `measures` object: {instrument name: {MEASURE_KEYS...}} for every configured instrument.

    as_of None: filters.as_of, else the latest admission, session or discharge date of the
    input (so pass sessions). referrals, when given, only widens which COL=VAL filter
    columns are valid (a column only referrals hold selects no episode).
    """
    per = _per_instrument(enrollments, assessments, instruments, filters, scope, as_of, sessions, referrals)
    return {name: _figures(counts, by_week) for name, (counts, by_week) in per.items()}


def pandas_measure_counts(enrollments: pd.DataFrame, assessments: pd.DataFrame,
                          instruments: Iterable[Instrument | Mapping], filters: Filters = Filters(),
                          scope: Scope = EVERYTHING, as_of: date | None = None,
                          sessions: pd.DataFrame | None = None,
                          referrals: pd.DataFrame | None = None) -> dict:
    """{instrument name: counts}: what each figure is divided from (reliably_improved,
    at_caseness, remission_eligible, ...; None where the instrument has no such threshold)
    and the distinct patients behind them (pair_patients, due_patients), which small-cell
    suppression reads. Same arguments as pandas_measures."""
    per = _per_instrument(enrollments, assessments, instruments, filters, scope, as_of, sessions, referrals)
    return {name: counts for name, (counts, _) in per.items()}
