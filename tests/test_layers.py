"""The import-linter contracts in pyproject.toml hold, and the check can fail.

The contracts: each analytics layer imports only the layers below it, nothing under
analytics imports Streamlit or ui, and no package's modules import each other in a cycle.
`lint-imports` (the venv's, with the project's pyproject.toml) checks the repository; then
each contract is broken on purpose in a copy of analytics/ and ui/ with one bad module
added, and the check must say so and name the import.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONTRACTS = [c["name"] for c in
             tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]]
LAYERS = "analytics layers: each imports only those below it"
NO_STREAMLIT = "analytics never imports Streamlit or ui"
NO_CYCLES = "no import cycles between the modules of a package"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the project at root (its pyproject.toml, its packages first on the path)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root, capture_output=True, text=True, timeout=120,
        # COLUMNS: the report is not wrapped, so each import chain stays on one line
        env={**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"},
    )


def status(report: str, contract: str) -> str:
    """'KEPT' or 'BROKEN', as the report's summary line for contract says."""
    lines = [line for line in report.splitlines() if line.startswith(contract + " ")]
    assert len(lines) == 1, f"no summary line for {contract!r} in:\n{report}"
    return lines[0].rsplit(" ", 1)[1]


def test_each_contract_has_a_case_that_breaks_it():
    """A contract dropped from pyproject.toml, or one added without a case below, fails here."""
    assert CONTRACTS == [LAYERS, NO_STREAMLIT, NO_CYCLES]


def test_every_contract_is_kept():
    done = lint_imports(REPO_ROOT)
    if done.returncode != 0:  # import-linter's report: each broken contract and the imports that break it
        pytest.fail(done.stdout + done.stderr, pytrace=False)
    assert {c: status(done.stdout, c) for c in CONTRACTS} == dict.fromkeys(CONTRACTS, "KEPT")


# contract -> (modules added to the copy: path -> source, a line the report must show)
BREAKS = {
    LAYERS: ({"analytics/metrics/reaches_up.py": "from analytics.report import packet\n"},
             "analytics.metrics.reaches_up -> analytics.report.packet"),
    NO_STREAMLIT: ({"analytics/store/draws_widgets.py": "import streamlit\n"},
                   "analytics.store.draws_widgets -> streamlit"),
    NO_CYCLES: ({"analytics/qi/first.py": "from analytics.qi import second\n",
                 "analytics/qi/second.py": "from analytics.qi import first\n"},
                "No cycles are allowed in analytics.qi."),
}


@pytest.mark.parametrize("contract", [LAYERS, NO_STREAMLIT, NO_CYCLES])
def test_a_copy_with_a_forbidden_import_breaks_the_contract(contract, tmp_path):
    for package in ("analytics", "ui"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.sql"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    added, shown = BREAKS[contract]
    for path, source in added.items():
        (tmp_path / path).write_text(source)

    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert status(done.stdout, contract) == "BROKEN", done.stdout
    assert shown in done.stdout, done.stdout  # the added module is what breaks it
