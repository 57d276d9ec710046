"""FHIR R4 Bulk Data files (ndjson, one resource per line) read as assessments.

A certified EHR's Bulk Data export writes one file per resource type
(Observation.ndjson, Patient.ndjson, ...). An Observation is one score: its id,
its code (a coding that means an instrument), its value, its date, its patient
and its status. DuckDB's JSON reader reads the whole file into typed columns
(sql/ingest/ingest_assessments_fhir_rows.sql); a line that is not JSON, or not a
resource, is a rejected row in its place, never an aborted import.

Pass 2 finds each Observation's episode from its patient and date
(sql/ingest/ingest_assessments_fhir_episodes.sql). The patient is the Patient id
of subject.reference, or, when the profile names an identifier system
([fhir] patient_identifier_system), that identifier of the Patient resources read
in the same command; it is pseudonymised before matching when the import is.

>>> import_files(store, ["enrollments.csv", "fhir/Observation.ndjson", "fhir/Patient.ndjson"])
"""
from __future__ import annotations

import json
from typing import Sequence

import duckdb

from analytics.ingest.files import ImportRefused, Scan
from analytics.ingest.profiles import Profile
from analytics.ingest.pseudonyms import pseudonymise
from analytics.instruments import Instrument
from analytics.store import sql_text
from analytics.store.schema import KINDS

# A coding's lookup key: system and code joined by a character neither holds.
_KEY_SEPARATOR = "\x1f"


def fhir_kind(scan: Scan, requested: str | None) -> str:
    """The kind an ndjson file is read as: the one kind read from FHIR, unless another was asked for."""
    readable = [k.name for k in KINDS.values() if k.fhir_resource]
    if requested is None:
        return readable[0]
    if requested not in readable:
        resources = ", ".join(f"{KINDS[k].fhir_resource} resources as {k}" for k in readable)
        raise ImportRefused(scan.label, f"an ndjson file is read as FHIR Bulk Data ({resources}), "
                                        f"not as {requested}", scan.sha256, requested)
    return requested


def coding_lookup(instruments: Sequence[Instrument], profile: Profile) -> tuple[list[str], list[str]]:
    """(coding keys, instrument names): the instruments' codes, then the profile's [[fhir.codes]].

    A coding the profile maps to another instrument than the configuration does is
    a profile error, refused before any file is read (importer.check_profile).
    """
    pairs: dict[str, str] = {}
    for instrument in instruments:
        for coding in instrument.codes:
            pairs[coding.system + _KEY_SEPARATOR + coding.code] = instrument.name
    for coding in profile.fhir_codes:
        pairs[coding.system + _KEY_SEPARATOR + coding.code] = coding.instrument
    return list(pairs), list(pairs.values())


def clashing_codes(instruments: Sequence[Instrument], profile: Profile) -> list[str]:
    """The profile's codings that the instruments' own codes give to a different instrument."""
    configured = {(c.system, c.code): i.name for i in instruments for c in i.codes}
    return [f"{c.system}|{c.code}" for c in profile.fhir_codes
            if configured.get((c.system, c.code), c.instrument) != c.instrument]


def begin_command(cur: duckdb.DuckDBPyConnection) -> None:
    """The command-wide list of Patient resources, filled by every FHIR file of the command."""
    cur.execute("CREATE OR REPLACE TEMP TABLE ingest_fhir_patients (patient_ref VARCHAR, patient_id VARCHAR)")


# The elements of a resource pass 1 reads, all as text: DuckDB types of read_json's
# `columns`, and the same as a json_transform structure.
_ELEMENTS: dict = {
    "resourceType": "VARCHAR", "id": "VARCHAR", "status": "VARCHAR",
    "code": {"coding": [{"system": "VARCHAR", "code": "VARCHAR"}]},
    "subject": {"reference": "VARCHAR"},
    "effectiveDateTime": "VARCHAR", "effectivePeriod": {"start": "VARCHAR"},
    "valueQuantity": {"value": "VARCHAR"}, "valueInteger": "VARCHAR",
    "identifier": [{"system": "VARCHAR", "value": "VARCHAR"}],
}
# The usual reader: straight into typed columns. After a line that is not valid JSON
# it may also return the next line empty, so it is trusted only when every line came
# back with a resourceType; otherwise the file is read again, line by line as JSON
# objects (slower), which also tells what each unreadable line is and where it is
# (numbering the rows holds a scan to their order, which slows the typed reader
# markedly, so only this reader numbers them; benchmarks/README.md has the figures).
_TYPED_READER = ("(SELECT NULL::VARCHAR AS json_type, NULL::BIGINT AS n, * FROM read_json($path, "
                 "format = 'newline_delimited', ignore_errors = true, columns = $columns))")
_EXACT_READER = ("(SELECT json_type(json) AS json_type, row_number() OVER () AS n, "
                 "unnest(json_transform(json, $structure)) "
                 "FROM read_json_objects($path, format = 'newline_delimited', ignore_errors = true))")


def _duckdb_type(spec) -> str:
    """A DuckDB type from an element spec: text, a struct (dict) or a list of one.

    >>> _duckdb_type({"coding": [{"system": "VARCHAR"}]})
    'STRUCT("coding" STRUCT("system" VARCHAR)[])'
    """
    if isinstance(spec, dict):
        return "STRUCT(" + ", ".join(f'"{k}" {_duckdb_type(v)}' for k, v in spec.items()) + ")"
    if isinstance(spec, list):
        return _duckdb_type(spec[0]) + "[]"
    return spec


def stage_fhir(cur: duckdb.DuckDBPyConnection, scan: Scan, profile: Profile, instruments: Sequence[Instrument],
               pseudonymise_key: bytes | None) -> int:
    """Pass 1 of one ndjson file into the temp table ingest_checked; returns its rows (non-blank lines)."""
    kind = next(k for k in KINDS.values() if k.fhir_resource)
    rows_sql = sql_text(f"ingest/ingest_{kind.name}_fhir_rows")
    keys, coded = coding_lookup(instruments, profile)
    with open(scan.path, "rb") as handle:
        bom = handle.read(3) == b"\xef\xbb\xbf"
    params = {"path": str(scan.path), "resource": kind.fhir_resource, "code_keys": keys, "code_instruments": coded,
              "instrument_names": [i.name for i in instruments],
              "instrument_min": [i.min_score for i in instruments],
              "instrument_max": [i.max_score for i in instruments],
              "patient_system": profile.fhir_patient_system, "bom": bom}
    cur.execute("CREATE OR REPLACE TEMP TABLE ingest_checked AS "
                + rows_sql.replace("FROM ingest_source", "FROM " + _TYPED_READER),
                params | {"columns": {k: _duckdb_type(v) for k, v in _ELEMENTS.items()}})
    if cur.execute("SELECT count(*) FROM ingest_checked WHERE resource_type IS NULL").fetchone()[0]:
        cur.execute("CREATE OR REPLACE TEMP TABLE ingest_checked AS "
                    + rows_sql.replace("FROM ingest_source", "FROM " + _EXACT_READER),
                    params | {"structure": json.dumps(_ELEMENTS)})
    n_rows = cur.execute("SELECT count(*) FROM ingest_checked").fetchone()[0]
    cur.execute(sql_text("ingest/ingest_fhir_patients"))
    if pseudonymise_key is not None and profile.fhir_patient_system is None:
        pseudonymise(cur, pseudonymise_key, "patient_id")
    return n_rows


def pseudonymise_patients(cur: duckdb.DuckDBPyConnection, profile: Profile, pseudonymise_key: bytes | None) -> None:
    """Hash the command's Patient identifier values, when they are the patient ids and the import pseudonymises."""
    if pseudonymise_key is not None and profile.fhir_patient_system is not None:
        pseudonymise(cur, pseudonymise_key, "patient_id", table="ingest_fhir_patients")


def episode_parameters(profile: Profile) -> dict:
    """What pass 2 (sql/ingest/ingest_assessments_fhir_episodes.sql) binds."""
    return {"by_identifier": profile.fhir_patient_system is not None,
            "patient_system": profile.fhir_patient_system}
