"""Mapping profiles: how an EHR export's headers, labels, dates and encoding map onto the canonical format.

A profile is a small TOML file (see docs/data-format.md and config/profiles/*.toml).
Loading one checks every target against analytics.store.schema, so a typo in a
profile is refused before any file is read.

>>> profile = load_profile("config/profiles/example_ehr.toml")
>>> profile.canonical_column("sessions", " Service Date ")
'session_date'
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from analytics.config import REPO_ROOT
from analytics.store.schema import REFERRAL_OUTCOMES, DISCHARGE_REASONS, KINDS, SESSION_STATUSES, SESSION_TYPES

PROFILES_DIR = REPO_ROOT / "config" / "profiles"
CANONICAL_PROFILE = PROFILES_DIR / "canonical.toml"

# Profile encoding names -> the names DuckDB's CSV reader (with the encodings extension) knows.
ENCODINGS: dict[str, str] = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "utf-16": "utf-16",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "windows-1252": "CP1252",
    "cp1252": "CP1252",
}
FILE_TYPES = ("csv", "xlsx", "ndjson")
# Which canonical column each label table maps, and what it may map to (None: any text).
LABEL_TARGETS: dict[str, tuple[str, ...] | None] = {
    "status": SESSION_STATUSES,
    "discharge_reason": DISCHARGE_REASONS,
    "session_type": None,
    "outcome": REFERRAL_OUTCOMES,
    "instrument": None,  # the configured instruments (config/instruments.toml), checked at import
}
if {label for kind in KINDS.values() for label in kind.labels} - set(LABEL_TARGETS):
    raise RuntimeError("schema.KINDS names a label map that LABEL_TARGETS does not define")
_TOP_KEYS = {
    "name", "description", "kind", "file_type", "encoding", "delimiter", "quote", "escape",
    "date_format", "sheet", "columns", "labels", "ignore", "fhir",
}
_FHIR_KEYS = {"patient_identifier_system", "codes"}


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the profile file and the problem."""


@dataclass(frozen=True)
class FhirCode:
    """A coding of a FHIR Observation.code (system and code, matched exactly) that means an instrument."""
    system: str
    code: str
    instrument: str


def header_key(text: str) -> str:
    """How headers and labels are matched: case and surrounding or repeated spaces ignored.

    >>> header_key(" Service  Date ")
    'service date'
    """
    return " ".join(text.split()).casefold()


_key = header_key


@dataclass(frozen=True)
class Profile:
    name: str
    source: str
    kind: str | None = None
    file_type: str | None = None  # None: by the file's content (xlsx is a zip archive)
    encoding: str = "utf-8"  # a key of ENCODINGS
    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    sheet: str | None = None
    # kind -> {matching key of a source header: canonical column}
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # canonical column -> {matching key of a source label: canonical value}
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()  # matching keys of source headers to drop on purpose
    # FHIR ndjson: the Patient.identifier system whose value is the enrollments' patient_id
    # (None: the Patient resource's id is), and further codings that mean an instrument.
    fhir_patient_system: str | None = None
    fhir_codes: tuple[FhirCode, ...] = ()

    @property
    def duckdb_encoding(self) -> str:
        return ENCODINGS[self.encoding]

    def canonical_column(self, kind: str, header: str) -> str | None:
        """The canonical column a source header maps to for a kind, or None (an extra column)."""
        key = _key(header)
        mapped = self.columns.get(kind, {}).get(key)
        if mapped:
            return mapped
        names = {c.name for c in KINDS[kind].columns}
        return key if key in names else None

    def is_ignored(self, header: str) -> bool:
        return _key(header) in self.ignore

    def label_map(self, column: str, vocabulary: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
        """(source keys, canonical values) for a label column: the canonical names map to themselves.

        vocabulary: the canonical names of a label whose values come from configuration
        (the instruments in force); otherwise the fixed ones of LABEL_TARGETS.
        >>> dict(zip(*load_profile().label_map("instrument", ["phq9"])))
        {'phq9': 'phq9'}
        """
        allowed = LABEL_TARGETS[column]
        pairs: dict[str, str] = {}
        for value in vocabulary if vocabulary is not None else allowed if allowed is not None else SESSION_TYPES:
            pairs[_key(value)] = value
        pairs.update(self.labels.get(column, {}))
        return list(pairs), list(pairs.values())

    def unknown_instruments(self, names: Sequence[str]) -> list[str]:
        """The profile's instrument targets ([labels.instrument], [[fhir.codes]]) that are not in names.

        Instruments are configuration (config/instruments.toml and a site's file), so
        these are checked against the instruments in force when an import starts.
        """
        targets = list(self.labels.get("instrument", {}).values()) + [c.instrument for c in self.fhir_codes]
        return sorted({t for t in targets if t not in names})


def _fail(source: str, problem: str) -> ProfileError:
    return ProfileError(f"profile {source}: {problem}")


def load_profile(path: str | Path | None = None) -> Profile:
    """Read and check a profile file; None gives the canonical profile."""
    path = Path(path) if path is not None else CANONICAL_PROFILE
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(source, "file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fail(source, f"not valid TOML ({exc})") from None
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(source, f"unknown setting(s) {', '.join(sorted(unknown))}")

    kind = data.get("kind")
    if kind is not None and kind not in KINDS:
        raise _fail(source, f"kind must be one of {', '.join(KINDS)}")
    file_type = data.get("file_type")
    if file_type is not None and file_type not in FILE_TYPES:
        raise _fail(source, f"file_type must be one of {', '.join(FILE_TYPES)}")
    encoding = str(data.get("encoding", "utf-8")).lower()
    if encoding not in ENCODINGS:
        raise _fail(source, f"encoding must be one of {', '.join(ENCODINGS)}")
    for name in ("delimiter", "quote", "escape"):
        value = data.get(name, '"' if name != "delimiter" else ",")
        if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
            raise _fail(source, f"{name} must be a single character")
    formats = data.get("date_format", "%Y-%m-%d")
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    if not formats or not all(isinstance(f, str) and "%" in f for f in formats):
        raise _fail(source, "date_format must be a strftime format such as '%m/%d/%Y', or a list of them")

    columns: dict[str, dict[str, str]] = {}
    for k, mapping in (data.get("columns") or {}).items():
        if k not in KINDS:
            raise _fail(source, f"[columns.{k}]: kind must be one of {', '.join(KINDS)}")
        names = {c.name for c in KINDS[k].columns}
        columns[k] = {}
        for header, target in mapping.items():
            if target not in names:
                raise _fail(source, f"[columns.{k}] maps {header!r} to {target!r}, not a {k} column")
            columns[k][_key(header)] = target
        targets = list(columns[k].values())
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            raise _fail(source, f"[columns.{k}] maps several headers to {', '.join(doubled)}")

    labels: dict[str, dict[str, str]] = {}
    for column, mapping in (data.get("labels") or {}).items():
        if column not in LABEL_TARGETS:
            raise _fail(source, f"[labels.{column}]: labels exist for {', '.join(LABEL_TARGETS)}")
        allowed = LABEL_TARGETS[column]
        labels[column] = {}
        for label, target in mapping.items():
            if allowed is not None and target not in allowed:
                raise _fail(source, f"[labels.{column}] maps {label!r} to {target!r}, not one of {', '.join(allowed)}")
            labels[column][_key(label)] = target

    patient_system, fhir_codes = _fhir_settings(source, data.get("fhir", {}))
    return Profile(
        name=str(data.get("name", path.stem)),
        source=source,
        kind=kind,
        file_type=file_type,
        encoding=encoding,
        delimiter=data.get("delimiter", ","),
        quote=data.get("quote", '"'),
        escape=data.get("escape", '"'),
        date_formats=formats,
        sheet=data.get("sheet"),
        columns=columns,
        labels=labels,
        ignore=frozenset(_key(h) for h in data.get("ignore", [])),
        fhir_patient_system=patient_system,
        fhir_codes=fhir_codes,
    )


def _fhir_settings(source: str, table: object) -> tuple[str | None, tuple[FhirCode, ...]]:
    """The [fhir] table: patient_identifier_system and [[fhir.codes]] entries, checked."""
    if not isinstance(table, Mapping):
        raise _fail(source, "[fhir] must be a table")
    unknown = set(table) - _FHIR_KEYS
    if unknown:
        raise _fail(source, f"[fhir]: unknown setting(s) {', '.join(sorted(unknown))}")
    system = table.get("patient_identifier_system")
    if system is not None and (not isinstance(system, str) or not system.strip()):
        raise _fail(source, "[fhir] patient_identifier_system must be an identifier system, e.g. \"urn:oid:...\"")
    codes: list[FhirCode] = []
    for entry in table.get("codes", []):
        if (not isinstance(entry, Mapping) or set(entry) != {"system", "code", "instrument"}
                or not all(isinstance(entry[k], str) and entry[k] for k in ("system", "code", "instrument"))):
            raise _fail(source, "each [[fhir.codes]] entry needs system, code and instrument (text)")
        coding = FhirCode(entry["system"], entry["code"], entry["instrument"])
        clash = [c for c in codes if (c.system, c.code) == (coding.system, coding.code) and c != coding]
        if clash:
            raise _fail(source, f"[[fhir.codes]] maps {coding.system}|{coding.code} to two instruments")
        codes.append(coding)
    return system, tuple(codes)
