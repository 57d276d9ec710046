"""DuckDB's memory and thread limits come from configuration: [duckdb] in the settings
file, each overridden by its IOP_DUCKDB_* environment variable; a bad value is refused
with the file (or variable) and key named, never a traceback."""
from __future__ import annotations

import pytest

from analytics.config import DEFAULT_CONFIG
from analytics.store import Store, StoreError
from tests.support import run_analytics

SETTINGS = "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')"


@pytest.fixture
def config(tmp_path, monkeypatch):
    """Write a settings file (the project's, with [duckdb] replaced) and point IOP_CONFIG at it."""
    for variable in ("IOP_DUCKDB_MEMORY_LIMIT", "IOP_DUCKDB_THREADS", "IOP_DUCKDB_TEMP_DIRECTORY"):
        monkeypatch.delenv(variable, raising=False)
    base = DEFAULT_CONFIG.read_text().split("[duckdb]")[0]

    def write(duckdb_section: str):
        path = tmp_path / f"iop{len(list(tmp_path.glob('iop*.toml')))}.toml"
        path.write_text(base + "[duckdb]\n" + duckdb_section)
        monkeypatch.setenv("IOP_CONFIG", str(path))
        return path
    return write


def limits(target: str) -> tuple:
    store = Store(target)
    try:
        with store.read() as cur:
            return cur.execute(SETTINGS).fetchone()
    finally:
        store.close()


def test_the_store_connection_takes_the_configured_limits(config, sample_store_path, tmp_path):
    config(f'memory_limit = "1GB"\nthreads = 1\ntemp_directory = "{tmp_path / "spill"}"\n')
    assert limits(sample_store_path) == ("953.6 MiB", 1, str(tmp_path / "spill"))


def test_the_environment_overrides_the_file(config, sample_store_path, monkeypatch):
    config('memory_limit = "1GB"\nthreads = 1\n')
    monkeypatch.setenv("IOP_DUCKDB_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("IOP_DUCKDB_THREADS", "2")
    assert limits(sample_store_path)[:2] == ("488.2 MiB", 2)


def test_empty_settings_leave_duckdbs_defaults(config, sample_store_path):
    import duckdb

    config('memory_limit = ""\nthreads = 0\n')
    default = duckdb.connect(":memory:").execute(SETTINGS).fetchone()
    assert limits(sample_store_path)[:2] == default[:2]


@pytest.mark.parametrize("section, named", [
    ('memory_limit = "lots"\n', "[duckdb] memory_limit: 'lots' is not a size"),
    ('memory_limit = "1GB; DROP TABLE x"\n', "[duckdb] memory_limit"),
    ("threads = -2\n", "[duckdb] threads: '-2' is not a whole number"),
    ('memory_lmit = "1GB"\n', "[duckdb] has no setting 'memory_lmit'"),
])
def test_a_bad_setting_is_refused_with_file_and_key(config, sample_store_path, section, named):
    path = config(section)
    with pytest.raises(StoreError) as caught:
        Store(sample_store_path)
    assert str(path) in str(caught.value) and named in str(caught.value)


def test_a_bad_variable_is_named_by_the_command_without_a_traceback(config, sample_store_path):
    config("")
    result = run_analytics("metrics", "--db", sample_store_path, env={"IOP_DUCKDB_THREADS": "many"})
    assert result.returncode != 0
    assert "IOP_DUCKDB_THREADS: 'many' is not a whole number" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
