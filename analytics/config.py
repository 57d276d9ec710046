"""Programme settings from config/iop.toml (dose targets, QI targets, suppression, DuckDB limits).

IOP_CONFIG names another file; tests point it at their own.
"""
from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

# The repository (or installed tree) root: config/, docs/ and sample_data/ are found from here.
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "iop.toml"


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def settings() -> dict[str, Any]:
    """The whole settings file as a dict."""
    return _load(os.environ.get("IOP_CONFIG") or str(DEFAULT_CONFIG))


def dose_target_hours(program: str) -> float:
    """The weekly-hours target for a program (ASAM 2.1: adults 9, adolescents 6).

    >>> dose_target_hours("Adolescent IOP")
    6.0
    """
    dose = settings()["dose"]
    name = program.lower()
    if any(marker in name for marker in dose["adolescent_program_markers"]):
        return float(dose["adolescent_weekly_hours"])
    return float(dose["default_weekly_hours"])


def session_completion_share() -> float:
    return float(settings()["sessions"]["completion_share"])


def read_summaries() -> bool:
    """Whether reads use the session summaries where they are exact ([summaries] read; true by default).

    IOP_READ_SUMMARIES=0 (or false) overrides it, e.g. to check one path against the other.
    """
    variable = os.environ.get("IOP_READ_SUMMARIES", "").strip().lower()
    if variable in ("0", "false", "no", "off"):
        return False
    if variable in ("1", "true", "yes", "on"):
        return True
    if variable:
        raise ConfigError(f"environment variable IOP_READ_SUMMARIES: {variable!r} is not true or false")
    value = settings().get("summaries", {}).get("read", True)
    if not isinstance(value, bool):
        source = os.environ.get("IOP_CONFIG") or str(DEFAULT_CONFIG)
        raise ConfigError(f"{source}: [summaries] read: {value!r} is not true or false")
    return value


def suppression_threshold() -> int:
    return int(settings()["suppression"]["threshold"])


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the file (or variable) and the key."""


_MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
# setting -> (environment variable that overrides [duckdb] in the settings file, check, what it must be)
_DUCKDB = {
    "memory_limit": ("IOP_DUCKDB_MEMORY_LIMIT", lambda v: _MEMORY.fullmatch(v) is not None,
                     "a size such as 2GB or 512MB"),
    "threads": ("IOP_DUCKDB_THREADS", lambda v: v.isdigit() and int(v) > 0, "a whole number above 0"),
    "temp_directory": ("IOP_DUCKDB_TEMP_DIRECTORY", lambda v: "\0" not in v, "a directory path"),
}


def duckdb_settings() -> dict[str, str | int]:
    """DuckDB's limits for the store's connection: [duckdb] in the settings file, each
    overridden by its IOP_DUCKDB_* environment variable. Unset, empty or 0: DuckDB's
    default (80% of the machine's memory, a thread per core, spilling to ./.tmp).

    >>> duckdb_settings()          # [duckdb] memory_limit = "3GB", threads = 2
    {'memory_limit': '3GB', 'threads': 2}
    """
    section = settings().get("duckdb", {})
    source = os.environ.get("IOP_CONFIG") or str(DEFAULT_CONFIG)
    unknown = sorted(set(section) - set(_DUCKDB))
    if unknown:
        raise ConfigError(f"{source}: [duckdb] has no setting {unknown[0]!r} (known: {', '.join(_DUCKDB)})")
    out: dict[str, str | int] = {}
    for key, (variable, valid, what) in _DUCKDB.items():
        where = f"{source}: [duckdb] {key}"
        value = str(section.get(key, "")).strip()
        if os.environ.get(variable, "").strip():
            value, where = os.environ[variable].strip(), f"environment variable {variable}"
        if not value or (key == "threads" and value == "0"):  # 0 threads: DuckDB's default
            continue
        if not valid(value):
            raise ConfigError(f"{where}: {value!r} is not {what}")
        out[key] = int(value) if key == "threads" else value
    return out


def headline_instrument() -> str:
    """The instrument the Overview's outcome tiles show ([outcomes] headline_instrument; PHQ-9 by default)."""
    return str(settings().get("outcomes", {}).get("headline_instrument", "phq9"))
