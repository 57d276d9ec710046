"""Programme settings from config/iop.toml (dose targets, QI targets, suppression).

IOP_CONFIG names another file; tests point it at their own.
"""
from __future__ import annotations

import os
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


def suppression_threshold() -> int:
    return int(settings()["suppression"]["threshold"])


def headline_instrument() -> str:
    """The instrument the Overview's outcome tiles show ([outcomes] headline_instrument; PHQ-9 by default)."""
    return str(settings().get("outcomes", {}).get("headline_instrument", "phq9"))
