"""The generated scores as FHIR R4 Bulk Data files (ndjson): Observation and Patient.

    OUT/fhir/Observation.ndjson  one Observation per assessments.csv row
    OUT/fhir/Patient.ndjson      one Patient per patient of enrollments.csv

Each line is assembled from whole string columns with pyarrow compute (no Python
loop over rows) and written slice by slice straight from the column's buffer.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sample_data import parameters as P
from sample_data.columns import dates, id_width, ids, labels

if TYPE_CHECKING:
    from sample_data.generate import Generated

LOINC = "http://loinc.org"
INSTRUMENT_SYSTEM = "urn:iop:instrument"
MRN_SYSTEM = "urn:iop:mrn"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC_CODES = {
    "phq9": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
    "gad7": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"),
}
SLICE_ROWS = 100_000  # about 40 MB of JSON text (and 25 MB of its middles) per slice


@dataclass(frozen=True)
class WrittenFhir:
    observations: Path
    patients: Path
    observation_rows: int
    patient_rows: int


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def observation_head(instrument: str) -> str:
    """The instrument-specific middle of an Observation line (category and code).

    >>> observation_head("uds")[:40]
    '"category":[{"coding":[{"system":"http:/'
    """
    category = "laboratory" if instrument == "uds" else "survey"
    if instrument in LOINC_CODES:
        code, display = LOINC_CODES[instrument]
        coding = {"system": LOINC, "code": code, "display": display}
    else:
        coding = {"system": INSTRUMENT_SYSTEM, "code": instrument}
    return (f'"category":[{_compact({"coding": [{"system": CATEGORY_SYSTEM, "code": category}]})}],'
            f'"code":{_compact({"coding": [coding], "text": instrument})}')


def us_eastern_offsets(days: np.ndarray) -> np.ndarray:
    """True where a day is in US daylight saving time (second Sunday of March to the
    first Sunday of November, as at midday)."""
    if len(days) == 0:
        return np.zeros(0, dtype=bool)
    years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    first, last = int(years.min()), int(years.max())
    starts, ends = [], []
    for year in range(first, last + 1):
        march1, nov1 = dt.date(year, 3, 1), dt.date(year, 11, 1)
        second_sunday = march1 + dt.timedelta(days=(6 - march1.weekday()) % 7 + 7)
        first_sunday = nov1 + dt.timedelta(days=(6 - nov1.weekday()) % 7)
        starts.append((second_sunday - P.EPOCH).days)
        ends.append((first_sunday - P.EPOCH).days)
    k = years - first
    return (days >= np.array(starts)[k]) & (days < np.array(ends)[k])


def _times(episode: np.ndarray, days: np.ndarray) -> pa.DictionaryArray:
    """'T10:30:00-05:00': a program-hours time per (episode, day) and the offset."""
    slot = (episode.astype(np.int64) * 7 + days) % P.FHIR_TIME_SLOTS
    dst = us_eastern_offsets(days)
    vocabulary = []
    for s in range(P.FHIR_TIME_SLOTS):
        minute = P.FHIR_FIRST_MINUTE + 15 * s
        for offset in ("-05:00", "-04:00"):
            vocabulary.append(f"T{minute // 60:02d}:{minute % 60:02d}:00{offset}")
    return labels(slot * 2 + dst, vocabulary)


def _write_lines(lines: pa.Array, sink) -> None:
    """Write a string column's values back to back (each already ends in a newline)."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
        lines.offset:lines.offset + len(lines) + 1]
    sink.write(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])


def _observation_lines(g: Generated, start: int, stop: int, widths: dict[str, int]) -> pa.Array:
    a = g.assessments
    ep = a.episode[start:stop]
    heads = labels(a.instrument[start:stop],
                   [observation_head(name) for name in P.INSTRUMENTS]).cast(pa.string())
    return pc.binary_join_element_wise(
        '{"resourceType":"Observation","id":"',
        ids("A", pa.array(np.arange(start + 1, stop + 1, dtype=np.int64)), widths["A"]),
        '","status":"final",', heads,
        ',"subject":{"reference":"Patient/',
        ids("P", pa.array(g.episodes.patient[ep]), widths["P"]),
        '"},"effectiveDateTime":"',
        dates(a.day[start:stop]).cast(pa.string()),
        _times(ep, a.day[start:stop]).cast(pa.string()),
        '","valueInteger":', pc.cast(pa.array(a.score[start:stop]), pa.string()), "}\n",
        "")


def _patient_lines(g: Generated, width: int) -> pa.Array:
    e = g.episodes
    patients, first = np.unique(e.patient, return_index=True)
    pid = ids("P", pa.array(patients), width)
    gender = labels(e.sex[first], P.SEX[0]).cast(pa.string())  # FHIR's own codes
    return pc.binary_join_element_wise(
        '{"resourceType":"Patient","id":"', pid,
        f'","identifier":[{{"system":"{MRN_SYSTEM}","value":"', pid,
        '"}],"gender":"', gender, '"}\n', "")


def write_fhir(g: Generated, out: Path) -> WrittenFhir:
    """Write OUT/Observation.ndjson and OUT/Patient.ndjson for a full generation."""
    if g.assessments is None:
        raise ValueError("FHIR output needs the assessments (generate with full=True)")
    out.mkdir(parents=True, exist_ok=True)
    n = len(g.assessments)
    widths = {"A": id_width("A", n), "P": id_width("P", int(g.episodes.patient.max()))}
    observations, patients = out / "Observation.ndjson", out / "Patient.ndjson"
    with open(observations, "wb") as sink:
        for start in range(0, n, SLICE_ROWS):
            _write_lines(_observation_lines(g, start, min(start + SLICE_ROWS, n), widths), sink)
    lines = _patient_lines(g, widths["P"])
    with open(patients, "wb") as sink:
        _write_lines(lines, sink)
    return WrittenFhir(observations, patients, n, len(lines))
