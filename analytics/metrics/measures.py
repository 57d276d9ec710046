"""Clinical outcome measures per instrument: change from baseline, reliable change, recovery,
remission, response, measurement completion and scores by program week.

Definitions (docs/metrics.md, "Clinical outcomes"), over the scores of the selected
episodes dated on or before as_of:
- a pair is an episode with scores on two or more dates; its baseline is the earliest
  score and its follow-up the latest (ties on a date: the lowest, and the highest,
  assessment_id as text);
- reliable improvement / deterioration, recovery, reliable recovery, remission and
  response judge each pair by the instrument's thresholds (config/instruments.toml,
  as the store holds them: analytics.store.instruments.instruments_in_force);
- measurement completion = windows with a score / windows due, over the episodes of
  the programs that use the instrument.

DuckDB counts (sql/metrics/measures.sql, on the shared macros of
analytics/sql/store/macros/); this module divides, in one place (_measures_from_row),
so a zero denominator is None everywhere.

>>> with store.read() as cur:
...     bind_filters(cur, Filters(sites=("North",)))
...     measures(cur)["phq9"].to_dict()["reliable_improvement_rate"]
0.41...
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Iterable

import duckdb

from analytics.instruments import Instrument
from analytics.privacy.suppression import RateSpec, SuppressionSpec, is_hidden, suppress_kpis, suppressed_by
from analytics.store import sql_text
from analytics.store.instruments import instruments_in_force

# The keys of each instrument's object in `python -m analytics metrics --format json`, in order.
MEASURE_KEYS: tuple[str, ...] = (
    "measured_episodes", "pairs", "mean_baseline", "mean_followup", "mean_change",
    "reliable_improvement_rate", "reliable_deterioration_rate", "at_caseness", "recovery_rate",
    "reliable_recovery_rate", "remission_rate", "response_rate", "due_windows",
    "completed_windows", "measurement_completion_rate", "by_week",
)
LAST_LISTED_WEEK = 12  # by_week lists program weeks 1..12 (sql/metrics/measures.sql)


@dataclass(frozen=True)
class WeekMean:
    """The scores of one program week: how many, and their mean (for uds, the share positive)."""

    week: int
    n: int
    mean: float


@dataclass(frozen=True)
class Measures:
    """One instrument's figures. Rates and means are unrounded; None where the instrument has
    no such threshold or the denominator is 0. The counts after by_week are what the rates
    are divided from (for suppression and the tiles); they are not in the JSON."""

    instrument: str
    measured_episodes: int
    pairs: int
    mean_baseline: float | None
    mean_followup: float | None
    mean_change: float | None
    reliable_improvement_rate: float | None
    reliable_deterioration_rate: float | None
    at_caseness: int | None
    recovery_rate: float | None
    reliable_recovery_rate: float | None
    remission_rate: float | None
    response_rate: float | None
    due_windows: int
    completed_windows: int
    measurement_completion_rate: float | None
    by_week: tuple[WeekMean, ...] = ()
    reliably_improved: int | None = None
    reliably_deteriorated: int | None = None
    recovered: int | None = None
    reliably_recovered: int | None = None
    remission_eligible: int | None = None
    remitted: int | None = None
    responded: int | None = None
    pair_patients: int = 0  # distinct patients among the pairs (0: not counted, see with_patients)
    due_patients: int = 0  # distinct patients with windows due (likewise)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: exactly MEASURE_KEYS, by_week as [{"week", "n", "mean"}, ...]."""
        out = {key: getattr(self, key) for key in MEASURE_KEYS}
        out["by_week"] = [{"week": w.week, "n": w.n, "mean": w.mean} for w in self.by_week]
        return out


def bound_instruments(instruments: Iterable[Instrument]) -> list[dict[str, Any]]:
    """The definitions as the $instruments parameter of the measure queries (measure_instruments()).

    The response drop is bound as the share kept, p/q as two integers, so the
    comparison in SQL is exact: 0.5 -> keep 1/2, and 14 x 1/2 = 7 is a response.
    """
    out = []
    for i in instruments:
        keep = None if i.response_drop is None else 1 - i.response_drop
        out.append({
            "instrument": i.name, "higher_is_better": i.higher_is_better, "caseness": i.caseness,
            "reliable_change": i.reliable_change, "remission_below": i.remission_below,
            "response_keep_num": None if keep is None else keep.numerator,
            "response_keep_den": None if keep is None else keep.denominator,
            "every_days": i.every_days, "programs": list(i.programs),
        })
    return out


def instrument_named(cur: duckdb.DuckDBPyConnection, name: str) -> Instrument:
    """The definition in force of one instrument; ValueError naming the known ones otherwise."""
    found = {i.name: i for i in instruments_in_force(cur)}
    if name not in found:
        raise ValueError(f"unknown instrument {name!r}; known: {', '.join(found)}")
    return found[name]


@suppressed_by(nothing_to_hide="the names and labels of the instruments in force")
def instrument_choices(cur: duckdb.DuckDBPyConnection) -> tuple[tuple[str, str], ...]:
    """(name, label) of every instrument in force, in configuration order."""
    return tuple((i.name, i.label) for i in instruments_in_force(cur))


@suppressed_by(nothing_to_hide="whether the store holds any score at all")
def store_has_scores(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when any assessment score has been imported (whatever the filters): a store
    without an assessments export has no outcomes to show, rather than outcomes of 0."""
    return bool(cur.execute("SELECT EXISTS (SELECT 1 FROM main.assessments)").fetchone()[0])


@suppressed_by(nothing_to_hide="an instrument's definition (its range and thresholds)")
def instrument_definition(cur: duckdb.DuckDBPyConnection, instrument: str) -> Instrument:
    """The definition in force of one instrument (for a page's figures); ValueError when unknown."""
    return instrument_named(cur, instrument)


def _share(numerator: int | None, denominator: int | None) -> float | None:
    return float(numerator) / float(denominator) if numerator is not None and denominator else None


def _measures_from_row(ins: Instrument, row: dict[str, Any]) -> Measures:
    """One instrument's figures from its row of measures.sql: the one place they are divided."""
    n = int(row["pairs"])
    rc = ins.reliable_change is not None
    case = ins.caseness is not None
    improved = int(row["reliably_improved"]) if rc else None
    deteriorated = int(row["reliably_deteriorated"]) if rc else None
    at_case = int(row["at_caseness"]) if case else None
    recovered = int(row["recovered"]) if case else None
    reliably_recovered = int(row["reliably_recovered"]) if case and rc else None
    remission = ins.remission_below is not None
    eligible = int(row["remission_eligible"]) if remission else None
    remitted = int(row["remitted"]) if remission else None
    response = ins.response_drop is not None and case
    responded = int(row["responded"]) if response else None
    due, completed = int(row["due_windows"]), int(row["completed_windows"])
    # sums of whole numbers are exact; one division gives the correctly rounded mean
    b_sum, f_sum = int(row["baseline_sum"]), int(row["followup_sum"])
    return Measures(
        instrument=ins.name,
        measured_episodes=int(row["measured_episodes"]),
        pairs=n,
        mean_baseline=b_sum / n if n else None,
        mean_followup=f_sum / n if n else None,
        mean_change=(f_sum - b_sum) / n if n else None,
        reliable_improvement_rate=_share(improved, n),
        reliable_deterioration_rate=_share(deteriorated, n),
        at_caseness=at_case,
        recovery_rate=_share(recovered, at_case),
        reliable_recovery_rate=_share(reliably_recovered, at_case),
        remission_rate=_share(remitted, eligible),
        response_rate=_share(responded, at_case if response else None),
        due_windows=due,
        completed_windows=completed,
        measurement_completion_rate=_share(completed, due),
        by_week=tuple(WeekMean(int(w["week"]), int(w["n"]), int(w["total"]) / int(w["n"]))
                      for w in row["by_week"]),
        reliably_improved=improved, reliably_deteriorated=deteriorated, recovered=recovered,
        reliably_recovered=reliably_recovered, remission_eligible=eligible, remitted=remitted,
        responded=responded, pair_patients=int(row.get("pair_patients", 0)),
        due_patients=int(row.get("due_patients", 0)),
    )


def _rows(cur: duckdb.DuckDBPyConnection, query: str, chosen: tuple[Instrument, ...]) -> dict[str, dict]:
    result = cur.execute(sql_text(query), {"instruments": bound_instruments(chosen)})
    columns = [d[0] for d in result.description]
    return {r[0]: dict(zip(columns, r)) for r in result.fetchall()}


def _run(cur: duckdb.DuckDBPyConnection, chosen: tuple[Instrument, ...], *,
         with_patients: bool = False) -> dict[str, Measures]:
    if not chosen:
        return {}
    rows = _rows(cur, "metrics/measures", chosen)
    if with_patients:
        for name, extra in _rows(cur, "metrics/measure_patients", chosen).items():
            rows[name] |= extra
    return {i.name: _measures_from_row(i, rows[i.name]) for i in chosen}


# -- suppression ------------------------------------------------------------------------
# The pair figures rest on the patients among the pairs; measurement completion on the
# patients with windows due. Episode counts of 1 to threshold-1 are hidden, with every
# rate built on them (and a rate whose complement is such a count).
PAIR_SPEC = SuppressionSpec(
    counts=("measured_episodes", "pairs", "at_caseness", "pair_patients"),
    rates=(RateSpec("reliable_improvement_rate", "reliably_improved", "pairs"),
           RateSpec("reliable_deterioration_rate", "reliably_deteriorated", "pairs"),
           RateSpec("recovery_rate", "recovered", "at_caseness"),
           RateSpec("reliable_recovery_rate", "reliably_recovered", "at_caseness"),
           RateSpec("remission_rate", "remitted", "remission_eligible"),
           RateSpec("response_rate", "responded", "at_caseness"),
           RateSpec("mean_baseline"), RateSpec("mean_followup"), RateSpec("mean_change")),
    group_size="pair_patients", column_totals=False,
)
COMPLETION_SPEC = SuppressionSpec(
    counts=("due_patients",),
    rates=(RateSpec("measurement_completion_rate"), RateSpec("due_windows"), RateSpec("completed_windows")),
    group_size="due_patients", column_totals=False,
)


def hide_measures(result: Measures | dict[str, Measures], *args: Any, threshold: int | None = None,
                  **kwargs: Any) -> Measures | dict[str, Measures]:
    """Measures as they may leave the room: hidden figures read '<threshold'; by_week is
    left out (scores_by_week carries the weekly figures with their own suppression)."""
    if isinstance(result, dict):
        return {name: hide_measures(m, threshold=threshold) for name, m in result.items()}
    values = {f.name: getattr(result, f.name) for f in fields(result) if f.name not in ("instrument", "by_week")}
    by_pairs = suppress_kpis(values, PAIR_SPEC, threshold)
    by_windows = suppress_kpis(values, COMPLETION_SPEC, threshold)
    hidden = {key: by_pairs[key] if is_hidden(by_pairs[key]) else by_windows[key] for key in values
              if is_hidden(by_pairs[key]) or is_hidden(by_windows[key])}
    return replace(result, by_week=(), **hidden)


@suppressed_by(hide=hide_measures)
def measures(cur: duckdb.DuckDBPyConnection, instruments: tuple[Instrument, ...] | None = None, *,
             with_patients: bool = True) -> dict[str, Measures]:
    """Every instrument's Measures (default: the instruments in force), by name, in their order.

    The patient counts suppression needs are counted only with_patients (the summary
    shows every figure as it is, and distinct counts cost more than the figures).
    """
    chosen = instruments_in_force(cur) if instruments is None else tuple(instruments)
    return _run(cur, chosen, with_patients=with_patients)


@suppressed_by(hide=hide_measures)
def instrument_measures(cur: duckdb.DuckDBPyConnection, instrument: str) -> Measures:
    """One instrument's Measures (the Outcomes page's tiles); ValueError for an unknown name."""
    return _run(cur, (instrument_named(cur, instrument),), with_patients=True)[instrument]
