"""Deterministic synthetic IOP exports in the canonical format (docs/data-format.md).

    python -m sample_data.generate --episodes 400 --seed 1 --out sample_data

writes OUT/enrollments.csv and OUT/sessions.csv. The same arguments always give
byte-identical files. About 34 session rows per episode: --episodes 290000 gives
about 10 million session rows (docs/sample-data.md has the measured ratio).
"""
from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analytics.store.schema import ENROLLMENT_COLUMNS, SESSION_COLUMNS
from sample_data import parameters as P
from sample_data.episodes import Episodes, Roster, day_number, make_episodes
from sample_data.sessions import Sessions, make_sessions

EXTRA_ENROLLMENT_COLUMNS: tuple[str, ...] = (
    "payer", "referral_source", "primary_substance", "age_group", "sex")
ENROLLMENT_HEADER: tuple[str, ...] = (
    tuple(c.name for c in ENROLLMENT_COLUMNS) + EXTRA_ENROLLMENT_COLUMNS)
SESSION_HEADER: tuple[str, ...] = tuple(c.name for c in SESSION_COLUMNS)
WRITE_SLICE_ROWS = 1_000_000


@dataclass(frozen=True)
class Generated:
    episodes: Episodes
    roster: Roster
    sessions: Sessions
    data_end: int  # days since 1970-01-01


@dataclass(frozen=True)
class Written:
    enrollments: Path
    sessions: Path
    enrollment_rows: int
    session_rows: int


def generate(episodes: int, seed: int, data_end: dt.date = P.DATA_END) -> Generated:
    """Episodes and sessions as numpy arrays; the same (episodes, seed, data_end)
    always gives the same arrays (independent streams per part, numpy pinned)."""
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    end = day_number(data_end)
    episode_rng, session_rng = (np.random.default_rng(s)
                                for s in np.random.SeedSequence(seed).spawn(2))
    eps, roster = make_episodes(episodes, episode_rng, end)
    sessions = make_sessions(eps, roster, session_rng, end)
    return Generated(eps, roster, sessions, end)


def _labels(codes: np.ndarray, vocabulary, mask: np.ndarray | None = None) -> pa.DictionaryArray:
    indices = pa.array(codes.astype(np.int16), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(vocabulary), pa.string()))


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())


def enrollments_table(g: Generated) -> pa.Table:
    """Enrollments with ids and dates still numeric; labels as dictionaries."""
    e = g.episodes
    active = e.end > g.data_end
    return pa.table({
        "episode_no": pa.array(np.arange(1, len(e) + 1, dtype=np.int64)),
        "patient_no": pa.array(e.patient),
        "site": _labels(e.site, [s.name for s in P.SITES]),
        "program": _labels(e.program, P.PROGRAMS),
        "admit_date": _dates(e.admit),
        "discharge_date": _dates(e.end, active),
        "discharge_reason": _labels(e.reason, P.REASONS, active),
        "planned_weeks": pa.array(e.planned_weeks.astype(np.int16)),
        "payer": _labels(e.payer, P.PAYER[0]),
        "referral_source": _labels(e.referral, P.REFERRAL[0]),
        "primary_substance": _labels(e.substance, P.SUBSTANCE[0]),
        "age_group": _labels(e.age_group, P.AGE_GROUP[0]),
        "sex": _labels(e.sex, P.SEX[0]),
    })


def sessions_table(g: Generated) -> pa.Table:
    s = g.sessions
    return pa.table({
        "session_no": pa.array(np.arange(1, len(s) + 1, dtype=np.int64)),
        "episode_no": pa.array(s.episode.astype(np.int64) + 1),
        "session_date": _dates(s.day),
        "session_type": _labels(s.session_type, P.TYPES),
        "clinician": _labels(s.clinician, g.roster.names),
        "scheduled_minutes": pa.array(s.scheduled),
        "attended_minutes": pa.array(s.attended),
        "status": _labels(s.status, P.STATUSES),
    })


def _id_width(count: int, minimum: int) -> int:
    return max(minimum, len(str(count)))


def _ids(prefix: str, numbers: pa.ChunkedArray | pa.Array, width: int) -> pa.Array:
    """'E000042'-style ids: a prefix and a zero-padded number."""
    digits = pc.utf8_lpad(pc.cast(numbers, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _as_text(table: pa.Table, id_columns: dict[str, tuple[str, str, int]]) -> pa.Table:
    """The table with ids formatted and dictionary labels as plain strings."""
    columns = {}
    for name in table.column_names:
        col = table[name]
        if name in id_columns:
            new_name, prefix, width = id_columns[name]
            columns[new_name] = _ids(prefix, col, width)
        elif pa.types.is_dictionary(col.type):
            columns[name] = col.cast(pa.string())
        else:
            columns[name] = col
    return pa.table(columns)


def _write_table(table: pa.Table, path: Path, header: tuple[str, ...],
                 id_columns: dict[str, tuple[str, str, int]]) -> None:
    # Converted and written in slices, so 10 M rows never exist as strings at once.
    # quoting "none": no value holds a comma, quote or line break, and pyarrow
    # raises rather than writing a broken file if one ever did.
    # The header is written by hand: pyarrow would quote the column names.
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    first = _as_text(table.slice(0, 0), id_columns)
    if tuple(first.column_names) != header:
        raise AssertionError(f"columns {first.column_names} are not the canonical {header}")
    with open(path, "wb") as sink:
        sink.write((",".join(header) + "\n").encode("utf-8"))
        with pacsv.CSVWriter(sink, first.schema, write_options=options) as writer:
            for start in range(0, table.num_rows, WRITE_SLICE_ROWS):
                writer.write_table(_as_text(table.slice(start, WRITE_SLICE_ROWS), id_columns))


def write_csv(g: Generated, out: Path) -> Written:
    """Write OUT/enrollments.csv and OUT/sessions.csv (UTF-8, ISO dates, header, LF)."""
    out.mkdir(parents=True, exist_ok=True)
    enrollments, sessions = enrollments_table(g), sessions_table(g)
    n_eps, n_ses = enrollments.num_rows, sessions.num_rows
    episode_id = ("episode_id", "E", _id_width(n_eps, 6))
    patient_id = ("patient_id", "P", _id_width(int(g.episodes.patient.max()) if n_eps else 0, 7))
    session_id = ("session_id", "S", _id_width(n_ses, 7))
    e_path, s_path = out / "enrollments.csv", out / "sessions.csv"
    _write_table(enrollments, e_path, ENROLLMENT_HEADER,
                 {"episode_no": episode_id, "patient_no": patient_id})
    _write_table(sessions, s_path, SESSION_HEADER,
                 {"session_no": session_id, "episode_no": episode_id})
    return Written(e_path, s_path, n_eps, n_ses)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description="Write deterministic synthetic IOP exports (enrollments.csv, sessions.csv).")
    parser.add_argument("--episodes", type=int, required=True, help="number of episodes")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=P.DATA_END,
                        help=f"data end date (default {P.DATA_END.isoformat()})")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    started, cpu = time.perf_counter(), time.process_time()
    written = write_csv(generate(args.episodes, args.seed, args.end), args.out)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wrote {written.enrollment_rows} rows to {written.enrollments}")
    print(f"wrote {written.session_rows} rows to {written.sessions}")
    print(f"in {seconds:.1f} s ({cpu:.1f} s CPU), peak RSS {peak_mb:.0f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
