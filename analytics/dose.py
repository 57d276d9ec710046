"""Weekly dose: attended hours per complete episode-week against the ASAM 2.1 target.

Definition (docs/metrics.md, "Dose"): week k of an episode covers
admit_date + 7(k-1) .. admit_date + 7k - 1 and counts once its last day is
<= min(discharge_date, as_of); its hours are the attended minutes in it / 60,
0 when nothing was attended. A week meets the dose when its hours are at or
above its program's target (config/iop.toml: 9 h, adolescent programs 6 h).

The episode-weeks are built in analytics/sql/episode_weeks.sql and stay in
DuckDB (about 3 M rows at 10 M sessions); only summaries, a half-hour
histogram and percentiles come back.

>>> with store.read() as cur:
...     bind_filters(cur, Filters(programs=("Adolescent IOP",)))
...     dose_summary(cur).median_weekly_hours
6.5
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics import config
from analytics.queries import sql_text


@dataclass(frozen=True)
class DoseSummary:
    """Dose over the selected episodes; figures are None when no week is complete."""

    episode_weeks: int  # complete episode-weeks
    episodes: int  # episodes with at least one complete week
    patients: int
    median_weekly_hours: float | None
    dose_target_met_rate: float | None
    target_hours: dict[str, float]  # program -> weekly target used, for the selected programs


def target_hours(cur: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The weekly-hours target of every program among the selected episodes."""
    rows = cur.execute(
        "SELECT DISTINCT program FROM main.selected_episodes() ORDER BY program"
    ).fetchall()
    return {program: config.dose_target_hours(program) for (program,) in rows}


def _target_params(targets: dict[str, float]) -> dict[str, object]:
    # Bound as two parallel lists (see episode_weeks.sql), never formatted into SQL.
    return {"target_programs": list(targets), "target_hours": list(targets.values())}


def episode_weeks_sql(query: str) -> str:
    """The named query's text with the complete episode-weeks as the CTE `episode_weeks`.

    Both texts are repository files (no user text); a dimension expression, when
    there is one, comes from the fixed breakdowns dict.
    """
    return "WITH episode_weeks AS (\n" + sql_text("episode_weeks") + "\n)\n" + sql_text(query)


def _run(cur: duckdb.DuckDBPyConnection, query: str, targets: dict[str, float] | None = None,
         sql: str | None = None, params: dict | None = None) -> pd.DataFrame:
    targets = target_hours(cur) if targets is None else targets
    text = sql if sql is not None else episode_weeks_sql(query)
    return cur.execute(text, {**_target_params(targets), **(params or {})}).df()


def dose_summary(cur: duckdb.DuckDBPyConnection) -> DoseSummary:
    """Complete episode-weeks, their median hours and the share meeting the target."""
    targets = target_hours(cur)
    row = _run(cur, "dose_summary", targets).iloc[0]
    weeks = int(row["episode_weeks"])
    return DoseSummary(
        episode_weeks=weeks,
        episodes=int(row["episodes"]),
        patients=int(row["patients"]),
        median_weekly_hours=float(row["median_weekly_hours"]) if weeks else None,
        dose_target_met_rate=float(row["dose_target_met_rate"]) if weeks else None,
        target_hours=targets,
    )


def weekly_hours_distribution(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Weekly hours per program as a half-hour histogram (one row per non-empty bin).

    Columns: program, hours_from, hours_to (bin [from, to)), target_hours, met
    (the bin is at or above the target), met_weeks, episode_weeks, episodes, patients.
    The row-level episode-weeks stay in DuckDB; see weekly_hours_percentiles().
    """
    return _run(cur, "dose_hours_histogram")


def weekly_hours_percentiles(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per program: episode_weeks, p10/p25/median/p75/p90 and mean hours, met share."""
    return _run(cur, "dose_hours_percentiles")


def dose_by_program_week(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Program weeks 1..12 (rows only where a week is complete): episode_weeks,
    patients, dose_target_met_rate, median_weekly_hours, mean_weekly_hours."""
    return _run(cur, "dose_by_program_week")


def dose_by(cur: duckdb.DuckDBPyConnection, dimension: str) -> pd.DataFrame:
    """Dose per value of an episode dimension (site, program, cohort, extra column).

    Columns: the dimension, episode_weeks, episodes, patients, median_weekly_hours,
    mean_weekly_hours, dose_target_met_rate. Session-level dimensions (clinician,
    session type, weekday) do not apply: a week's hours mix several sessions.
    """
    from analytics.breakdowns import dimension_sql  # TODO: match breakdowns.py API

    expression, params = dimension_sql(cur, dimension, level="episode")
    sql = episode_weeks_sql("dose_by").replace("/*dimension*/", expression)
    out = _run(cur, "dose_by", sql=sql, params=params)
    return out.rename(columns={"dimension_value": dimension})
