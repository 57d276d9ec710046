"""The hand-worked stores of the metric tests, as data: tests/fixtures/rows/<name>.toml holds
the enrollments and sessions whose figures a test module works out by hand (the working in
its comments).

An enrollment is a table of its columns (a column left out is empty); a session is a row
in the order add_sessions takes: session_id, episode_id, session_date, session_type,
clinician, scheduled_minutes, attended_minutes, status.
"""
from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

import pytest

from analytics.store import Store, summaries
from tests.conftest import add_enrollments, add_sessions

ROWS_DIR = Path(__file__).parent / "fixtures" / "rows"
ENROLLMENT_FIELDS: tuple[str, ...] = (
    "episode_id", "patient_id", "site", "program", "admit_date", "discharge_date", "discharge_reason",
    "planned_weeks", "extra",
)


def store_rows(name: str) -> tuple[list[tuple], list[tuple]]:
    """The enrollments and sessions of tests/fixtures/rows/<name>.toml, as add_enrollments and
    add_sessions take them."""
    data = tomllib.loads((ROWS_DIR / f"{name}.toml").read_text())
    enrollments = [tuple(row.get(field) for field in ENROLLMENT_FIELDS) for row in data["enrollments"]]
    return enrollments, [tuple(row) for row in data["sessions"]]


def add_store_rows(store, name: str) -> None:
    """Insert the enrollments and sessions of tests/fixtures/rows/<name>.toml into store."""
    enrollments, sessions = store_rows(name)
    add_enrollments(store, enrollments)
    add_sessions(store, sessions)


def filled_store(name: str):
    """A fixture over the `store` fixture (so on every store it runs on): the store with the
    rows of tests/fixtures/rows/<name>.toml. A module names it: filled = filled_store("mix")."""
    @pytest.fixture
    def filled(store):
        add_store_rows(store, name)
        return store
    return filled


def scratch_store_fixture(file_name: str):
    """A module-wide fixture: one embedded store in a temporary folder, for property tests
    that refill it at every example (see empty_store). A module names it:
    scratch_store = scratch_store_fixture("mix.duckdb")."""
    @pytest.fixture(scope="module")
    def scratch_store():
        with tempfile.TemporaryDirectory() as tmp:
            s = Store(str(Path(tmp) / file_name))
            yield s
            s.close()
    return scratch_store


def empty_store(store: Store) -> None:
    """Delete every session and enrollment of store, before it is filled again."""
    with store.write() as cur:
        cur.execute("DELETE FROM store.sessions")
        cur.execute("DELETE FROM store.enrollments")
        summaries.rebuild(cur)  # rows removed straight, not by a batch of the importer
