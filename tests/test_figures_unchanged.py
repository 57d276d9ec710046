"""The headline figures stay what they were: the metrics command's JSON on the bundled sample and
on a small generated store, against figures recorded by the release before the code moved into
layers (tests/fixtures/figures/).

Recorded on that release with the same commands: sample.json from its sample store;
generated_600.json from `python -m sample_data.generate --episodes 600 --seed 11` imported into an
empty store. A key added since (a new export's figures) may appear beside them; every recorded
key must come out exactly as recorded, to the last digit.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, run_analytics

FIGURES = REPO_ROOT / "tests" / "fixtures" / "figures"
# the views each file records: label -> metrics arguments
VIEWS = {
    "whole": [],
    "site": ["--site", "Northgate"],
    "as_of": ["--as-of", "2025-06-30"],
    "program_filter": ["--program", "Adult IOP", "--filter", "payer=Medicaid"],
}

pytestmark = pytest.mark.slow


def metrics_of(store: str, view: str) -> dict:
    done = run_analytics("metrics", "--format", "json", "--db", store, *VIEWS[view], timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_as_recorded(recorded: dict, now: dict) -> None:
    assert set(recorded) <= set(now), f"figures gone: {sorted(set(recorded) - set(now))}"
    changed = {key: (recorded[key], now[key]) for key in recorded if now[key] != recorded[key]}
    assert not changed, changed


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory) -> str:
    from analytics.ingest.importer import import_files
    from analytics.store import Store
    from sample_data.generate import main as generate

    out = tmp_path_factory.mktemp("generated600")
    generate(["--episodes", "600", "--seed", "11", "--out", str(out)])
    store = Store(str(out / "store.duckdb"))
    try:
        import_files(store, [out / "enrollments.csv", out / "sessions.csv"])
    finally:
        store.close()
    return str(out / "store.duckdb")


@pytest.mark.parametrize("view", VIEWS)
def test_sample_figures_are_as_recorded(sample_store_path, view):
    recorded = json.loads((FIGURES / "sample.json").read_text())[view]
    assert_as_recorded(recorded, metrics_of(sample_store_path, view))


@pytest.mark.parametrize("view", VIEWS)
def test_generated_figures_are_as_recorded(generated_store, view):
    recorded = json.loads((FIGURES / "generated_600.json").read_text())[view]
    assert_as_recorded(recorded, metrics_of(generated_store, view))


def test_a_changed_figure_is_caught():
    recorded = json.loads((FIGURES / "generated_600.json").read_text())["whole"]
    nudged = {**recorded, "episodes": recorded["episodes"] + 1, "measures": {}}
    with pytest.raises(AssertionError, match="episodes"):
        assert_as_recorded(recorded, nudged)
    assert_as_recorded(recorded, {**recorded, "measures": {}})  # a new key beside them is fine
