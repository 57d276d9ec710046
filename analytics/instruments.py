"""Measurement instruments (PHQ-9, GAD-7, BAM subscales, drug screens): their definitions from config.

config/instruments.toml holds the built-in instruments; a site adds or overrides
entries in a second file of the same layout (IOP_INSTRUMENTS, else
config/instruments.site.toml when it exists). Every import writes the definitions
in force into the store (analytics.store.instruments), and the metrics read them
from there, so every importer and replica of an organisation scores alike.

>>> phq9 = {i.name: i for i in configured_instruments()}["phq9"]
>>> phq9.in_clinical_range(10), phq9.reliable_change, phq9.response_drop
(True, 6, Fraction(1, 2))
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Mapping

from analytics.config import REPO_ROOT

BUILT_IN_FILE = REPO_ROOT / "config" / "instruments.toml"
SITE_FILE = REPO_ROOT / "config" / "instruments.site.toml"
SITE_FILE_ENV = "IOP_INSTRUMENTS"
_KEYS = {"label", "min", "max", "higher_is", "caseness", "reliable_change", "remission_below",
         "response_drop", "every_days", "programs", "codes"}


class InstrumentError(ValueError):
    """An instruments file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Coding:
    """A FHIR coding (system and code) that means an instrument, e.g. LOINC 44261-6 for PHQ-9."""
    system: str
    code: str


@dataclass(frozen=True)
class Instrument:
    """One instrument: its score range, direction and thresholds (None where it has none).

    programs empty: every program uses it (the list limits only measurement completion).
    """
    name: str
    label: str
    min_score: int
    max_score: int
    higher_is_better: bool
    every_days: int
    caseness: int | None = None
    reliable_change: int | None = None
    remission_below: int | None = None
    response_drop: Fraction | None = None
    programs: tuple[str, ...] = ()
    codes: tuple[Coding, ...] = ()

    def in_clinical_range(self, score: int) -> bool | None:
        """At or above caseness (higher is worse) or at or below it (higher is better); None without one."""
        if self.caseness is None:
            return None
        return score <= self.caseness if self.higher_is_better else score >= self.caseness


def _whole(value: object, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InstrumentError(f"{where}: {key} must be a whole number")
    return value


def parse_instrument(name: str, entry: Mapping, source: str = "instruments file") -> Instrument:
    """Validate one [instruments.NAME] table; InstrumentError names the file, entry and key."""
    where = f"{source}: instruments.{name}"
    if not name.isidentifier() or name != name.lower():
        raise InstrumentError(f"{where}: a name must be lower case letters, digits and _")
    unknown = set(entry) - _KEYS
    if unknown:
        raise InstrumentError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("label", "min", "max", "higher_is", "every_days"):
        if key not in entry:
            raise InstrumentError(f"{where}: {key} is required")
    lo, hi = _whole(entry["min"], where, "min"), _whole(entry["max"], where, "max")
    if lo >= hi:
        raise InstrumentError(f"{where}: min must be below max")
    if entry["higher_is"] not in ("worse", "better"):
        raise InstrumentError(f"{where}: higher_is must be \"worse\" or \"better\"")
    every = _whole(entry["every_days"], where, "every_days")
    if every <= 0:
        raise InstrumentError(f"{where}: every_days must be 1 or more")
    optional = {k: _whole(entry[k], where, k) if k in entry else None
                for k in ("caseness", "reliable_change", "remission_below")}
    if optional["reliable_change"] is not None and optional["reliable_change"] <= 0:
        raise InstrumentError(f"{where}: reliable_change must be 1 or more")
    drop = None
    if "response_drop" in entry:
        raw = entry["response_drop"]
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw <= 1:
            raise InstrumentError(f"{where}: response_drop must be a share above 0 and at most 1")
        # exact: 0.5 is 1/2, so "at most half the baseline" has no rounding at the boundary
        drop = Fraction(str(raw)).limit_denominator(10_000)
    programs = entry.get("programs", [])
    if not isinstance(programs, list) or not all(isinstance(p, str) and p for p in programs):
        raise InstrumentError(f"{where}: programs must be a list of program names")
    codes = []
    for coding in entry.get("codes", []):
        if not isinstance(coding, Mapping) or set(coding) != {"system", "code"} or not all(
                isinstance(coding[k], str) and coding[k] for k in ("system", "code")):
            raise InstrumentError(f"{where}: each of codes must be {{ system = \"...\", code = \"...\" }}")
        codes.append(Coding(coding["system"], coding["code"]))
    return Instrument(name, str(entry["label"]), lo, hi, entry["higher_is"] == "better", every,
                      optional["caseness"], optional["reliable_change"], optional["remission_below"],
                      drop, tuple(programs), tuple(codes))


def _read(path: Path) -> dict[str, Instrument]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentError(f"{path}: not valid TOML ({exc})") from None
    table = data.get("instruments", {})
    if not isinstance(table, Mapping) or set(data) - {"instruments"}:
        raise InstrumentError(f"{path}: expected only [instruments.NAME] tables")
    return {name: parse_instrument(name, entry, str(path)) for name, entry in table.items()}


def site_file() -> Path | None:
    """The site's own instruments file in force, if any."""
    named = os.environ.get(SITE_FILE_ENV)
    if named:
        if not Path(named).is_file():
            raise InstrumentError(f"{SITE_FILE_ENV} names {named}, which is not a file")
        return Path(named)
    return SITE_FILE if SITE_FILE.is_file() else None


def configured_instruments() -> tuple[Instrument, ...]:
    """The built-in instruments, then the site's (a site entry of the same name replaces a built-in)."""
    found = _read(BUILT_IN_FILE)
    extra = site_file()
    if extra is not None:
        found.update(_read(extra))
    codes: dict[Coding, str] = {}
    for instrument in found.values():
        for coding in instrument.codes:
            if codes.setdefault(coding, instrument.name) != instrument.name:
                raise InstrumentError(f"the coding {coding.system}|{coding.code} names two instruments: "
                                      f"{codes[coding]} and {instrument.name}")
    return tuple(found.values())
