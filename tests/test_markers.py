"""A test that starts PostgreSQL, Chromium or nginx must carry its marker (lake, browser, nginx),
or it would run in the quick tier: the conftest hook stops it (an error at setup) before the
service starts.

Checked on a throwaway test file that uses tests/conftest.py's fixtures, run by pytest in a
subprocess so its failures are its own.
"""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support import REPO_ROOT

PROBES = '''
import pytest

def test_chromium_unmarked(chromium):
    pass

def test_lake_unmarked(lake_target):
    pass

def test_nginx_unmarked(nginx):
    pass

@pytest.mark.nginx
def test_nginx_marked(nginx):
    pass

def test_no_service():
    pass
'''


def test_a_service_fixture_without_its_marker_stops_the_test_before_the_service_starts(tmp_path):
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403 (fixtures and hooks)\n")
    (tmp_path / "test_probes.py").write_text(PROBES)
    # Markers declared so that --strict-markers passes; CI unset, so a missing nginx only skips.
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    lake\n    browser\n    nginx\n    slow\n")
    env = {**{k: v for k, v in os.environ.items() if k != "CI"}, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--strict-markers", "test_probes.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    out = done.stdout
    # An error at setup: the service's fixture never ran.
    for test, message in (("test_chromium_unmarked", "chromium needs @pytest.mark.browser"),
                          ("test_lake_unmarked", "pg_cluster needs @pytest.mark.lake"),
                          ("test_nginx_unmarked", "nginx needs @pytest.mark.nginx")):
        assert f"ERROR test_probes.py::{test}" in out, out
        assert f"test_probes.py::{test}: {message}" in out, out
    assert "PASSED test_probes.py::test_no_service" in out, out
    assert ("PASSED test_probes.py::test_nginx_marked" in out
            or "SKIPPED" in out and "nginx is missing" in out), out
    assert done.returncode == 1
