"""The SQL macros every analytics query builds on: the selection and the shared rules.

One macro per file in analytics/sql/store/macros/, named after it. The table
macros select (selected_episodes, selected_sessions: as_of, filters, site scope)
or name a shared part of several queries (counted_sessions, episode_times,
retention_at_week, the dose's weeks); the scalar and aggregate ones write a rule
once (expected_session, completed_session, the session counts, the
complete-period cut-off period_ended, program_week, complete_weeks; the
assessment imports' assessment_window_start, whole_score and score_outside).
DuckDB inlines a macro where it is called, so a query costs the same as if the
macro's text were written in it.

The access figures' macros (INTAKE_MACROS) read the referrals and the enrollments'
first_contact_date: selected_referrals() selects referrals by their own site,
program, columns and first contact; intake_episodes() adds to each selected episode
its first contact, its care days and its IET-style windows.

They live in the process's in-memory catalog (not TEMP), so every cursor sees
them, and they read per-cursor variables set by queries.bind_filters(), so
concurrent sessions with different filters never see each other's values.
Values a macro needs besides those (the completion share, the dose targets) are
its parameters, which the calling query binds.
"""
from __future__ import annotations

import weakref
from functools import cache

import duckdb

from analytics.store.sql_files import SQL_DIR

MACRO_DIR = SQL_DIR / "store" / "macros"

# In dependency order: DuckDB binds a macro's body when the macro is created.
MACROS: tuple[str, ...] = (
    "selected_episodes",
    "selected_sessions",
    "expected_session",
    "completed_session",
    "program_week",
    "complete_weeks",
    "period_ended",
    "session_attendance_counts",
    "session_delivery_counts",
    "counted_sessions",
    "session_counts_by_type",
    "episode_times",
    "retention_at_week",
    "dose_episodes",
    "complete_week_minutes",
    "complete_episode_weeks",
    "assessment_window_start",
    "whole_score",
    "score_outside",
)

# The access figures' macros, in dependency order. They read what schema version 2
# added (referrals, enrollments.first_contact_date), so they are created once the
# attached store holds it: a store from before is migrated by its first write, and
# the next attach creates them.
INTAKE_MACROS: tuple[str, ...] = ("selected_referrals", "window_days", "lowest_bit", "intake_episodes")

# Scalar rules that read no table: they bind without a store attached, so they are
# created as soon as a store's connection is made, for an import's pass 1 (which runs
# before the store is attached).
RULES: tuple[str, ...] = ("expected_session", "assessment_window_start", "whole_score", "score_outside")


# Connections that hold the macros already. DuckDB binds a macro's body when the
# macro is created (so the views it reads must exist by then) and again at every
# call, so a macro keeps working across detach and attach, whatever the views
# point to. Creating them binds every body, which costs about as much as a small
# query; the embedded store attaches for every read, so it is done once per connection.
_DEFINED: weakref.WeakSet = weakref.WeakSet()
_INTAKE_DEFINED: weakref.WeakSet = weakref.WeakSet()


@cache
def definitions() -> str:
    """Every CREATE MACRO statement, in MACROS order, as one script."""
    return ";\n".join((MACRO_DIR / f"{name}.sql").read_text() for name in MACROS)


def define_rules(con: duckdb.DuckDBPyConnection) -> None:
    """Create the RULES macros on a connection that has no store attached yet."""
    con.execute(";\n".join((MACRO_DIR / f"{name}.sql").read_text() for name in RULES))


def define(con: duckdb.DuckDBPyConnection) -> None:
    """Create every macro on the connection, the first time it is attached to a store.

    The store calls it on every attach, after creating its views (the callers
    hold the store's lock, so two threads never define at once).
    """
    if con not in _DEFINED:
        con.execute(definitions())
        _DEFINED.add(con)
    if con not in _INTAKE_DEFINED and _holds_intake_tables(con):
        con.execute(";\n".join((MACRO_DIR / f"{name}.sql").read_text() for name in INTAKE_MACROS))
        _INTAKE_DEFINED.add(con)


def _holds_intake_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the attached store's views hold the referrals and enrollments.first_contact_date."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND database_name = current_database() "
        "AND ((table_name = 'enrollments' AND column_name = 'first_contact_date') "
        "OR (table_name = 'referrals' AND column_name = 'outcome'))").fetchone()[0]
    return found == 2
