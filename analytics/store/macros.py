"""The SQL macros every analytics query builds on: the selection and the shared rules.

One macro per file in analytics/sql/store/macros/, named after it. The table
macros select (selected_episodes, selected_sessions: as_of, filters, site scope)
or name a shared part of several queries (counted_sessions, episode_times,
retention_at_week, the dose's weeks); the scalar and aggregate ones write a rule
once (expected_session, completed_session, the session counts, the
complete-period cut-off period_ended, program_week, complete_weeks; the
assessment imports' assessment_window_start, whole_score and score_outside; every
import's export_date, plausible_date, read_date and unknown_episode, and the wording of its
problems: problem, missing, unread, bad_date, whole_number, not_whole_number, profile_label,
date_as_read, episode_problem). The clinical outcome rules
(which scores count, baseline and follow-up with their tie rules, the score's week, the
measurement windows, improvement and the clinical range) are read by the measures, the
Outcomes page, the QI charts and the at-risk list alike (docs/metrics.md, "Clinical
outcomes").
DuckDB inlines a macro where it is called, so a query costs the same as if the
macro's text were written in it.

The access figures' macros read the referrals and the enrollments'
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
    "session_rows_through",
    "session_counts_through",
    "attended_week_rows_through",
    "attended_weeks_through",
    "attended_day_rows_through",
    "attended_days_through",
    "session_counts",
    "attended_weeks",
    "attended_days",
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
    "export_date",
    "plausible_date",
    "read_date",
    "unknown_episode",
    "problem",
    "missing",
    "unread",
    "bad_date",
    "whole_number",
    "not_whole_number",
    "profile_label",
    "date_as_read",
    "episode_problem",
    "baseline_score",
    "followup_score",
    "makes_pair",
    "improvement",
    "in_clinical_range",
    "score_week",
    "measurement_window",
    "measured_until",
    "last_window_due",
    "uses_instrument",
    "measure_instruments",
    "selected_scores",
    "score_pairs",
    "selected_referrals",
    "window_days",
    "lowest_bit",
    "intake_episodes",
)
# Macros over a table a store from the release before lacks: that store is opened for
# the write that migrates it without the table, so they are created on the attach
# after the migration. The access figures' macros read the referrals and
# enrollments.first_contact_date, which arrive together, so the referrals table stands for both.
NEEDS_TABLE: dict[str, tuple[str, ...]] = {
    "selected_scores": ("assessments",), "score_pairs": ("assessments",),
    "selected_referrals": ("referrals",),
    # the summaries arrive with schema 4: the macros that read them, and those built on those
    "session_counts": ("episode_session_counts",), "session_counts_by_type": ("episode_session_counts",),
    "attended_weeks": ("episode_attended_weeks",), "complete_week_minutes": ("episode_attended_weeks",),
    "complete_episode_weeks": ("episode_attended_weeks",), "attended_days": ("episode_attended_days",),
    "intake_episodes": ("referrals", "episode_attended_days"),
}

# Scalar rules that read no table: they bind without a store attached, so they are
# created as soon as a store's connection is made, for an import's pass 1 (which runs
# before the store is attached).
RULES: tuple[str, ...] = ("expected_session", "assessment_window_start", "whole_score", "score_outside",
                          "export_date", "plausible_date", "read_date", "unknown_episode", "problem", "missing",
                          "unread", "bad_date", "whole_number", "not_whole_number", "profile_label",
                          "date_as_read", "episode_problem")


# Connections that hold the macros already. DuckDB binds a macro's body when the
# macro is created (so the views it reads must exist by then) and again at every
# call, so a macro keeps working across detach and attach, whatever the views
# point to. Creating them binds every body, which costs about as much as a small
# query; the embedded store attaches for every read, so it is done once per connection.
_DEFINED: weakref.WeakSet = weakref.WeakSet()


@cache
def definitions(names: tuple[str, ...] = MACROS) -> str:
    """The CREATE MACRO statements of names (default: MACROS), in order, as one script."""
    return ";\n".join((MACRO_DIR / f"{name}.sql").read_text() for name in names)


def define_rules(con: duckdb.DuckDBPyConnection) -> None:
    """Create the RULES macros on a connection that has no store attached yet."""
    con.execute(definitions(RULES))


def define(con: duckdb.DuckDBPyConnection) -> None:
    """Create every macro on the connection, the first time it is attached to a store.

    The store calls it on every attach, after creating its views (the callers
    hold the store's lock, so two threads never define at once).
    """
    if con in _DEFINED:
        return
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall()}
    possible = tuple(name for name in MACROS if set(NEEDS_TABLE.get(name, ())) <= tables)
    con.execute(definitions(possible))
    if possible == MACROS:
        _DEFINED.add(con)
