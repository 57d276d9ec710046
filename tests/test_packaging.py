"""The project installs as pyproject.toml says: its pins are requirements.txt's, and the `iop`
command that ./run installs does what `python -m analytics` does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, run_analytics

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
IOP = Path(sys.executable).parent / "iop"  # the venv's own, not one found on PATH


def requirement_lines(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line}


def test_pyproject_pins_what_requirements_txt_pins():
    """One set of versions: the runtime, test and build pins of pyproject.toml are requirements.txt's."""
    project = PYPROJECT["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"],
                *PYPROJECT["build-system"]["requires"]]
    assert len(declared) == len(set(declared))
    assert set(declared) == requirement_lines(REPO_ROOT / "requirements.txt")
    assert all("==" in pin for pin in declared)


def iop(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed `iop ARGS`, run from cwd with no PYTHONPATH: it finds analytics by its install."""
    if not IOP.exists():
        pytest.fail(f"{IOP} is missing: ./run installs the project "
                    "(pip install --no-deps --no-build-isolation -e .)", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(IOP), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_iop_lists_the_commands(tmp_path):
    done = iop("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: iop "), done.stdout.splitlines()[:1]
    for command in ("ingest", "metrics", "report", "maintain"):
        assert command in done.stdout


def test_iop_metrics_prints_what_python_m_analytics_prints(sample_store_path, tmp_path):
    args = ("metrics", "--db", sample_store_path, "--format", "json", "--as-of", "2025-06-30")
    by_module = run_analytics(*args, timeout=300)
    by_script = iop(*args, cwd=tmp_path)
    assert by_script.returncode == 0, by_script.stderr
    assert by_script.stdout == by_module.stdout
    assert json.loads(by_script.stdout)["episodes"] > 0
