"""Hand-worked metric cases: one TOML file per case, input rows and the figures expected.

tests/fixtures/measures/*.toml hold `measures` cases, tests/fixtures/intake/*.toml
`access` cases. Every implementation (the pandas reference, the SQL) loads the same
file and must give `expected` exactly (floats to 1e-12).

A case file:

    description = "what it checks"
    as_of = 2024-03-31                  # optional; absent: the default cutoff
    instruments = ["phq9"]              # measures: built-in instruments by name ...
    enrollments = [ { episode_id = "e1", admit_date = 2024-01-01 }, ... ]
    sessions = [ ... ]                  # each optional; arrays of inline tables
    assessments = [ ... ]
    referrals = [ ... ]

    [filters]                           # optional: Filters fields; extra = [["payer", "A"]]
    [scope]                             # optional: allowed_sites = ["North"]
    [[custom_instruments]]              # ... and/or full definitions (instruments config keys)
    [expected]                          # access: the whole object
    [expected.phq9]                     # measures: one table per configured instrument
    expected_error = "UnknownColumnError"   # instead of [expected]

TOML has no null, so in `expected` the string "null" is None and a string "p/q" is the
float p/q (written as a fraction so a reader can check it). A key left out of a row
is null, except these defaults, which keep rows short:

    enrollments: patient_id "p-<episode_id>", site "North", program "Adult IOP", extra {}
    sessions:    session_id "s<n>" (n = position in the case), session_type "group",
                 clinician "c1", scheduled_minutes 180, status "attended",
                 attended_minutes 180 when attended else 0
    referrals:   patient_id "p-<episode_id or referral_id>", site "North",
                 program "Adult IOP", extra {}

Every row is valid import data (scores at most 30 days before admission and not after
discharge, first contacts not after admission), so a case can also go through the importer.

>>> case = load_case(Path("tests/fixtures/intake/wait_first_contact_sources.toml"))
>>> pandas_access(case.frames["enrollments"], case.frames["sessions"], case.frames["referrals"],
...               case.filters, case.scope, case.as_of) == case.expected
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import pandas as pd

from analytics.filters import EVERYTHING, Filters, Scope
from benchmarks.pandas_measures import Instrument, as_instruments, builtin_instruments
from benchmarks.pandas_selection import ASSESSMENT_FRAME, ENROLLMENT_FRAME, REFERRAL_FRAME, SESSION_FRAME

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KINDS = {"measures": FIXTURES / "measures", "intake": FIXTURES / "intake"}
COLUMNS = {"enrollments": ENROLLMENT_FRAME, "sessions": SESSION_FRAME,
           "assessments": ASSESSMENT_FRAME, "referrals": REFERRAL_FRAME}
REQUIRED = {
    "enrollments": ("episode_id", "admit_date"),
    "sessions": ("episode_id", "session_date"),
    "assessments": ("assessment_id", "episode_id", "assessment_date", "instrument", "score"),
    "referrals": ("referral_id", "first_contact_date", "outcome"),
}
DATE_COLUMNS = {
    "enrollments": ("admit_date", "discharge_date", "first_contact_date"),
    "sessions": ("session_date",),
    "assessments": ("assessment_date",),
    "referrals": ("first_contact_date", "intake_assessment_date"),
}
TOP_LEVEL = {"description", "as_of", "instruments", "custom_instruments", "filters", "scope",
             "expected", "expected_error", *COLUMNS}
FRACTION = re.compile(r"^-?\d+/\d+$")


@dataclass(frozen=True, eq=False)
class Case:
    """One loaded case. rows are the input rows with defaults filled (dates as date);
    frames the same as DataFrames (dates as datetime64); instruments only for measures."""

    path: Path
    kind: str  # "measures" | "intake"
    description: str
    rows: Mapping[str, tuple[Mapping[str, Any], ...]]
    frames: Mapping[str, pd.DataFrame]
    instruments: tuple[Instrument, ...]
    filters: Filters
    scope: Scope
    as_of: date | None
    expected: Mapping[str, Any] | None
    expected_error: str | None

    @property
    def name(self) -> str:
        return self.path.stem


def case_paths(kind: str) -> list[Path]:
    """Every case file of a kind ("measures" or "intake"), sorted by name."""
    return sorted(KINDS[kind].glob("*.toml"))


def _with_defaults(table: str, i: int, row: Mapping[str, Any], where: str) -> dict[str, Any]:
    unknown = set(row) - set(COLUMNS[table])
    if unknown:
        raise ValueError(f"{where}: {table} row {i + 1}: unknown columns {sorted(unknown)}")
    missing = [c for c in REQUIRED[table] if c not in row]
    if missing:
        raise ValueError(f"{where}: {table} row {i + 1}: missing {missing}")
    out = {c: row.get(c) for c in COLUMNS[table]}
    if table == "enrollments":
        out["patient_id"] = out["patient_id"] or f"p-{out['episode_id']}"
        out["site"] = out["site"] or "North"
        out["program"] = out["program"] or "Adult IOP"
        out["extra"] = dict(out["extra"] or {})
    elif table == "sessions":
        out["session_id"] = out["session_id"] or f"s{i + 1}"
        out["session_type"] = out["session_type"] or "group"
        out["clinician"] = out["clinician"] or "c1"
        out["status"] = out["status"] or "attended"
        if out["scheduled_minutes"] is None:
            out["scheduled_minutes"] = 180
        if out["attended_minutes"] is None:
            out["attended_minutes"] = out["scheduled_minutes"] if out["status"] == "attended" else 0
    elif table == "referrals":
        out["patient_id"] = out["patient_id"] or f"p-{out['episode_id'] or out['referral_id']}"
        out["site"] = out["site"] or "North"
        out["program"] = out["program"] or "Adult IOP"
        out["extra"] = dict(out["extra"] or {})
    for col in DATE_COLUMNS[table]:
        if out[col] is not None and not isinstance(out[col], date):
            raise ValueError(f"{where}: {table} row {i + 1}: {col} must be a TOML date")
    return out


def _frame(table: str, rows: tuple[Mapping[str, Any], ...]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in COLUMNS[table]})
    for col in DATE_COLUMNS[table]:
        frame[col] = pd.to_datetime(frame[col])
    if table == "assessments":
        frame["score"] = frame["score"].astype("int64")
    if table == "sessions":
        for col in ("scheduled_minutes", "attended_minutes"):
            frame[col] = frame[col].astype("int64")
    if table == "enrollments":
        frame["planned_weeks"] = frame["planned_weeks"].astype("Int64")
    return frame


def _expected(value: Any) -> Any:
    """"null" -> None, "p/q" -> float, recursively."""
    if isinstance(value, dict):
        return {k: _expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if value == "null":
        return None
    if isinstance(value, str) and FRACTION.match(value):
        return float(Fraction(value))
    return value


def _instruments(raw: Mapping[str, Any], where: str) -> tuple[Instrument, ...]:
    builtins = {i.name: i for i in builtin_instruments()}
    chosen = []
    for name in raw.get("instruments", []):
        if name not in builtins:
            raise ValueError(f"{where}: no built-in instrument {name!r}")
        chosen.append(builtins[name])
    chosen += [Instrument.from_dict(d) for d in raw.get("custom_instruments", [])]
    return as_instruments(chosen)


def load_case(path: Path) -> Case:
    """The case in one TOML file (its kind from its folder: measures or intake)."""
    path = Path(path)
    where = str(path)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(raw) - TOP_LEVEL
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    kind = path.parent.name
    if kind not in KINDS:
        raise ValueError(f"{where}: a case lives in fixtures/measures or fixtures/intake")
    if ("expected" in raw) == ("expected_error" in raw):
        raise ValueError(f"{where}: give exactly one of [expected] and expected_error")
    rows = {t: tuple(_with_defaults(t, i, r, where) for i, r in enumerate(raw.get(t, []))) for t in COLUMNS}
    f = dict(raw.get("filters", {}))
    filters = Filters(
        admitted_from=f.pop("admitted_from", None), admitted_to=f.pop("admitted_to", None),
        sites=tuple(f.pop("sites", ())), programs=tuple(f.pop("programs", ())),
        extra=tuple((str(c), str(v)) for c, v in f.pop("extra", ())), as_of=f.pop("as_of", None),
    )
    if f:
        raise ValueError(f"{where}: unknown filters {sorted(f)}")
    s = dict(raw.get("scope", {}))
    allowed = s.pop("allowed_sites", None)
    if s:
        raise ValueError(f"{where}: unknown scope keys {sorted(s)}")
    scope = EVERYTHING if allowed is None else Scope(allowed_sites=tuple(allowed))
    instruments = _instruments(raw, where) if kind == "measures" else ()
    expected = _expected(raw["expected"]) if "expected" in raw else None
    if kind == "measures" and expected is not None and set(expected) != {i.name for i in instruments}:
        raise ValueError(f"{where}: [expected] must have one table per configured instrument")
    return Case(
        path=path, kind=kind, description=raw.get("description", ""),
        rows=MappingProxyType(rows),
        frames=MappingProxyType({t: _frame(t, r) for t, r in rows.items()}),
        instruments=instruments, filters=filters, scope=scope, as_of=raw.get("as_of"),
        expected=expected, expected_error=raw.get("expected_error"),
    )


# -- into a real store --------------------------------------------------------------------
_INSERTS = {
    "enrollments": ("episode_id, patient_id, site, program, admit_date, discharge_date, discharge_reason, "
                    "planned_weeks, first_contact_date, extra", "map($extra_keys::VARCHAR[], $extra_values::VARCHAR[])"),
    "sessions": ("session_id, episode_id, session_date, session_type, clinician, scheduled_minutes, "
                 "attended_minutes, status", None),
    "assessments": ("assessment_id, episode_id, assessment_date, instrument, score", None),
    "referrals": ("referral_id, patient_id, site, program, first_contact_date, intake_assessment_date, outcome, "
                  "episode_id, extra", "map($extra_keys::VARCHAR[], $extra_values::VARCHAR[])"),
}


def store_instruments(case: Case):
    """The case's instruments as analytics.instruments.Instrument (what a store holds), in order."""
    from analytics.instruments import parse_instrument

    out = []
    for i in case.instruments:
        entry = {"label": i.label, "min": i.min, "max": i.max, "higher_is": i.higher_is, "every_days": i.every_days,
                 "programs": list(i.programs)}
        for key in ("caseness", "reliable_change", "remission_below"):
            if getattr(i, key) is not None:
                entry[key] = getattr(i, key)
        if i.response_drop is not None:
            entry["response_drop"] = float(i.response_drop)
        out.append(parse_instrument(i.name, entry, str(case.path)))
    return tuple(out)


def fill_store(store, case: Case) -> None:
    """Write the case's rows (and, for measures, its instruments as the store's definitions)
    into an empty store, as an import would leave them (batch 1, one source line per row)."""
    from analytics.store.instruments import write_instruments

    with store.write() as cur:
        for table, (columns, extra_sql) in _INSERTS.items():
            names = [c.strip() for c in columns.split(",")]
            values = ", ".join(extra_sql if c == "extra" else f"${c}" for c in names)
            sql = (f"INSERT INTO store.{table} ({columns}, batch_id, source_line) "
                   f"VALUES ({values}, 1, $source_line)")
            for line, row in enumerate(case.rows[table], start=2):
                params = {c: row[c] for c in names if c != "extra"}
                if "extra" in names:
                    params |= {"extra_keys": list(row["extra"]), "extra_values": [str(v) for v in row["extra"].values()]}
                cur.execute(sql, params | {"source_line": line})
        if case.kind == "measures":
            write_instruments(cur, store_instruments(case), batch_id=1)


def write_case_exports(case: Case, directory: Path) -> list[Path]:
    """A case's rows as the export files a site would send (enrollments.csv, sessions.csv,
    assessments.csv, referrals.csv; only the tables the case has rows in), written into
    directory: the canonical columns, then the extra columns its rows hold, sorted. A
    missing value is an empty cell. Returns the files written, enrollments first.
    """
    import csv

    from analytics.store.schema import KINDS as STORE_KINDS

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table, rows in case.rows.items():
        if not rows:
            continue
        kind = STORE_KINDS[table]
        canonical = [c.name for c in kind.columns]
        extras = sorted({k for r in rows for k in r.get("extra") or {}}) if kind.keeps_extra else []
        path = directory / f"{table}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(canonical + extras)
            for row in rows:
                extra = row.get("extra") or {}
                out.writerow(["" if row.get(c) is None else row[c] for c in canonical]
                             + ["" if extra.get(c) is None else extra[c] for c in extras])
        written.append(path)
    return written


def import_case(store, case: Case, directory: Path):
    """Import a case's rows into a store through the real importer, in one command, as a
    site's own exports would be (write_case_exports). Returns the import's result; a
    case's rows are valid import data, so nothing is rejected.

    >>> import_case(store, load_case(path), tmp_path); summary(store, case_filters(case), case.scope)
    """
    from analytics.ingest.importer import import_files

    return import_files(store, write_case_exports(case, directory))


def case_filters(case: Case) -> Filters:
    """The case's filters with its as_of in them (the SQL side reads the cutoff from Filters)."""
    from dataclasses import replace

    return replace(case.filters, as_of=case.as_of or case.filters.as_of)
