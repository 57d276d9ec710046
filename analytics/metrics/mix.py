"""Therapy mix: how the attended minutes split between the session types.

Definition (docs/metrics.md, "Therapy mix"): a session type's share is its
attended minutes / all attended minutes, over the selected sessions, for every
type with at least one attended session; the shares sum to 1. Per program
week, per breakdown value and per episode the same ratio is taken within the
week, the value or the episode. Component reach is the share of episodes
(that attended anything) which attended each of the five components at least once.

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     therapy_mix(cur)
{'family': 0.06, 'group': 0.58, 'individual': 0.14, 'life_skills': 0.1, 'relapse_prevention': 0.12}
"""
from __future__ import annotations

import duckdb
import pandas as pd

from analytics.metrics.breakdowns import TOTAL_EXPRESSION, dimension_sql, with_dimension
from analytics.store import sql_text
from analytics.metrics.sessions import in_dimension_order, session_params
from analytics.store.schema import SESSION_TYPES
from analytics.privacy.suppression import RateSpec, suppressed_by, table_spec

# Minutes, sessions and shares are figures of the group's patients: hidden when it is small.
MIX_SPEC = table_spec(("episodes", "patients"), ("attended_minutes", "sessions", "share"))


@suppressed_by(MIX_SPEC)
def therapy_mix_table(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The overall mix with its counts: session_type, attended_minutes, sessions,
    episodes, patients, share (one row per type with attended sessions).

    It is mix_by.sql over one constant value, so the per-value and the overall
    tables cannot drift apart.
    """
    sql = with_dimension(sql_text("metrics/mix_by"), TOTAL_EXPRESSION)
    return cur.execute(sql).df().drop(columns="dimension_value")


def therapy_mix(cur: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """session_type -> share of attended minutes; {} when nothing was attended."""
    return shares_from_table(cur.execute(sql_text("metrics/therapy_mix"), session_params()).df())


def shares_from_table(table: pd.DataFrame) -> dict[str, float]:
    """session_type -> share from rows (session_type, share); {} when there are none
    or a share is undefined (attended sessions of 0 minutes only)."""
    if table.empty or table["share"].isna().any():
        return {}
    return {str(t): float(s) for t, s in zip(table["session_type"], table["share"])}


@suppressed_by(MIX_SPEC)
def mix_by_program_week(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Program weeks 1..12 x session type: week_number, session_type,
    attended_minutes, sessions, episodes, patients, share (within the week)."""
    return cur.execute(sql_text("metrics/mix_by_program_week")).df()


@suppressed_by(MIX_SPEC)
def mix_by(cur: duckdb.DuckDBPyConnection, dimension: str) -> pd.DataFrame:
    """The mix per value of a dimension (program, site, cohort, clinician, ...):
    the dimension, session_type, attended_minutes, sessions, episodes, patients,
    share (within the value)."""
    expression, params = dimension_sql(cur, dimension, level="session")
    sql = with_dimension(sql_text("metrics/mix_by"), expression)
    out = cur.execute(sql, params).df().rename(columns={"dimension_value": dimension})
    return in_dimension_order(out, dimension)


def mix_per_episode(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per session type, the distribution of its share within each episode:
    episodes (with attended minutes), episodes_with_type, mean_share, p25_share,
    median_share, p75_share, share_of_episodes_without."""
    return cur.execute(sql_text("metrics/mix_per_episode"), session_params()).df()


@suppressed_by(table_spec(("episodes_reached", "episodes_attending", "patients_reached", "patients_attending"),
                          group="patients_attending",
                          rates=(RateSpec("reach", "episodes_reached", "episodes_attending"),)))
def component_reach(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The five IOP components: session_type, episodes_reached, episodes_attending
    (the denominator: episodes with any attended session), patients_reached,
    patients_attending, reach. Empty when no selected episode attended anything."""
    return cur.execute(sql_text("metrics/component_reach"),
                       {"components": list(SESSION_TYPES), **session_params()}).df()
