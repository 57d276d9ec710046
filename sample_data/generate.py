"""Deterministic synthetic IOP exports in the canonical format (docs/data-format.md).

    python -m sample_data.generate --episodes 400 --seed 1 --out sample_data

writes OUT/enrollments.csv and OUT/sessions.csv. With --full it also writes
OUT/assessments.csv and OUT/referrals.csv and adds first_contact_date to the
enrollments; --fhir adds the scores as FHIR ndjson under OUT/fhir/. The same
arguments always give byte-identical files. About 34 session rows per episode:
--episodes 290000 gives about 10 million session rows (docs/sample-data.md has
the measured ratios).
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
import pyarrow.csv as pacsv

from analytics.store.schema import ENROLLMENT_COLUMNS, SESSION_COLUMNS
from sample_data import parameters as P
from sample_data.assessments import Assessments, make_assessments
from sample_data.columns import dates, id_width, ids, labels
from sample_data.episodes import Episodes, Roster, day_number, make_episodes
from sample_data.fhir import write_fhir
from sample_data.referrals import (
    NO_EPISODE, FirstContact, ReferralCountError, Referrals, default_other_count, make_admitted,
    make_referrals,
)
from sample_data.sessions import Sessions, make_sessions

# With --full, enrollments carry the request-for-service date right after the
# canonical columns (wherever the canonical list names it).
FIRST_CONTACT_COLUMN = "first_contact_date"
CANONICAL_ENROLLMENT_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in ENROLLMENT_COLUMNS if c.name != FIRST_CONTACT_COLUMN)
EXTRA_ENROLLMENT_COLUMNS: tuple[str, ...] = (
    "payer", "referral_source", "primary_substance", "age_group", "sex")
ENROLLMENT_HEADER: tuple[str, ...] = CANONICAL_ENROLLMENT_COLUMNS + EXTRA_ENROLLMENT_COLUMNS
FULL_ENROLLMENT_HEADER: tuple[str, ...] = (
    CANONICAL_ENROLLMENT_COLUMNS + (FIRST_CONTACT_COLUMN,) + EXTRA_ENROLLMENT_COLUMNS)
SESSION_HEADER: tuple[str, ...] = tuple(c.name for c in SESSION_COLUMNS)
ASSESSMENT_HEADER: tuple[str, ...] = (
    "assessment_id", "episode_id", "assessment_date", "instrument", "score")
REFERRAL_HEADER: tuple[str, ...] = (
    "referral_id", "patient_id", "site", "program", "first_contact_date",
    "intake_assessment_date", "outcome", "episode_id", "referral_source")
WRITE_SLICE_ROWS = 1_000_000


@dataclass(frozen=True)
class Generated:
    episodes: Episodes
    roster: Roster
    sessions: Sessions
    data_end: int  # days since 1970-01-01
    # Only with full=True:
    first_contact: FirstContact | None = None
    referrals: Referrals | None = None
    assessments: Assessments | None = None


@dataclass(frozen=True)
class Written:
    enrollments: Path
    sessions: Path
    enrollment_rows: int
    session_rows: int
    assessments: Path | None = None
    referrals: Path | None = None
    assessment_rows: int = 0
    referral_rows: int = 0


def patient_capacity(eps: Episodes) -> int:
    """The largest patient number that keeps the enrollments' patient id width."""
    return 10 ** id_width("P", int(eps.patient.max())) - 1


def generate(episodes: int, seed: int, data_end: dt.date = P.DATA_END, full: bool = False,
             referrals: int | None = None) -> Generated:
    """Episodes and sessions as numpy arrays, and with `full` the enrollments' first
    contact dates, `referrals` requests for service (a default share when None) and
    the assessments. The same arguments always give the same arrays (independent
    streams per part, numpy pinned); the parts added by `full` draw from streams
    of their own, so episodes and sessions are the same with or without it."""
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    end = day_number(data_end)
    episode_rng, session_rng, admitted_rng, other_rng, assessment_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))
    eps, roster = make_episodes(episodes, episode_rng, end)
    sessions = make_sessions(eps, roster, session_rng, end)
    if not full:
        return Generated(eps, roster, sessions, end)
    admitted, first_contact = make_admitted(eps, admitted_rng)
    n_admitted = int(admitted.logged.sum())
    others = default_other_count(admitted) if referrals is None else referrals - n_admitted
    if others < 0:
        raise ReferralCountError(f"--referrals {referrals} is fewer than the {n_admitted} "
                                 "admitted requests of these episodes")
    refs = make_referrals(eps, admitted, others, patient_capacity(eps), other_rng, end)
    scores = make_assessments(eps, sessions, admitted, assessment_rng)
    return Generated(eps, roster, sessions, end, first_contact, refs, scores)


def enrollments_table(g: Generated) -> pa.Table:
    """Enrollments with ids and dates still numeric; labels as dictionaries."""
    e = g.episodes
    active = e.end > g.data_end
    table = pa.table({
        "episode_no": pa.array(np.arange(1, len(e) + 1, dtype=np.int64)),
        "patient_no": pa.array(e.patient),
        "site": labels(e.site, [s.name for s in P.SITES]),
        "program": labels(e.program, P.PROGRAMS),
        "admit_date": dates(e.admit),
        "discharge_date": dates(e.end, active),
        "discharge_reason": labels(e.reason, P.REASONS, active),
        "planned_weeks": pa.array(e.planned_weeks.astype(np.int16)),
        "payer": labels(e.payer, P.PAYER[0]),
        "referral_source": labels(e.referral, P.REFERRAL[0]),
        "primary_substance": labels(e.substance, P.SUBSTANCE[0]),
        "age_group": labels(e.age_group, P.AGE_GROUP[0]),
        "sex": labels(e.sex, P.SEX[0]),
    })
    if g.first_contact is None:
        return table
    return table.add_column(len(CANONICAL_ENROLLMENT_COLUMNS), FIRST_CONTACT_COLUMN,
                            dates(g.first_contact.day, ~g.first_contact.recorded))


def _numbered(number_column: str, rows) -> dict[str, pa.Array]:
    """A row's own number from 1 (number_column) and its episode's (episode_no), as the
    tables of an episode's sessions and assessments start."""
    return {number_column: pa.array(np.arange(1, len(rows) + 1, dtype=np.int64)),
            "episode_no": pa.array(rows.episode.astype(np.int64) + 1)}


def sessions_table(g: Generated) -> pa.Table:
    s = g.sessions
    return pa.table({
        **_numbered("session_no", s),
        "session_date": dates(s.day),
        "session_type": labels(s.session_type, P.TYPES),
        "clinician": labels(s.clinician, g.roster.names),
        "scheduled_minutes": pa.array(s.scheduled),
        "attended_minutes": pa.array(s.attended),
        "status": labels(s.status, P.STATUSES),
    })


def assessments_table(g: Generated) -> pa.Table:
    a = g.assessments
    return pa.table({
        **_numbered("assessment_no", a),
        "assessment_date": dates(a.day),
        "instrument": labels(a.instrument, P.INSTRUMENTS),
        "score": pa.array(a.score),
    })


def referrals_table(g: Generated) -> pa.Table:
    r = g.referrals
    not_admitted = r.episode == NO_EPISODE
    return pa.table({
        "referral_no": pa.array(np.arange(1, len(r) + 1, dtype=np.int64)),
        "patient_no": pa.array(r.patient),
        "site": labels(r.site, [s.name for s in P.SITES]),
        "program": labels(r.program, P.PROGRAMS),
        "first_contact_date": dates(r.first_contact),
        "intake_assessment_date": dates(r.intake, ~r.has_intake),
        "outcome": labels(r.outcome, P.REFERRAL_OUTCOMES),
        "episode_no": pa.array(r.episode.astype(np.int64) + 1, mask=not_admitted),
        "referral_source": labels(r.source, P.REFERRAL[0]),
    })


def _as_text(table: pa.Table, id_columns: dict[str, tuple[str, str, int]]) -> pa.Table:
    """The table with ids formatted and dictionary labels as plain strings."""
    columns = {}
    for name in table.column_names:
        col = table[name]
        if name in id_columns:
            new_name, prefix, width = id_columns[name]
            columns[new_name] = ids(prefix, col, width)
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
    """Write OUT/enrollments.csv and OUT/sessions.csv (UTF-8, ISO dates, header, LF),
    and OUT/assessments.csv and OUT/referrals.csv when `g` has them."""
    out.mkdir(parents=True, exist_ok=True)
    enrollments, sessions = enrollments_table(g), sessions_table(g)
    n_eps, n_ses = enrollments.num_rows, sessions.num_rows
    episode_id = ("episode_id", "E", id_width("E", n_eps))
    patient_id = ("patient_id", "P", id_width("P", int(g.episodes.patient.max()) if n_eps else 0))
    session_id = ("session_id", "S", id_width("S", n_ses))
    e_path, s_path = out / "enrollments.csv", out / "sessions.csv"
    _write_table(enrollments, e_path,
                 ENROLLMENT_HEADER if g.first_contact is None else FULL_ENROLLMENT_HEADER,
                 {"episode_no": episode_id, "patient_no": patient_id})
    _write_table(sessions, s_path, SESSION_HEADER,
                 {"session_no": session_id, "episode_no": episode_id})
    if g.assessments is None or g.referrals is None:
        return Written(e_path, s_path, n_eps, n_ses)
    a_path, r_path = out / "assessments.csv", out / "referrals.csv"
    n_a, n_r = len(g.assessments), len(g.referrals)
    _write_table(assessments_table(g), a_path, ASSESSMENT_HEADER,
                 {"assessment_no": ("assessment_id", "A", id_width("A", n_a)),
                  "episode_no": episode_id})
    _write_table(referrals_table(g), r_path, REFERRAL_HEADER,
                 {"referral_no": ("referral_id", "R", id_width("R", n_r)),
                  "patient_no": patient_id, "episode_no": episode_id})
    return Written(e_path, s_path, n_eps, n_ses, a_path, r_path, n_a, n_r)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description="Write deterministic synthetic IOP exports (enrollments.csv, sessions.csv; "
                    "with --full also assessments.csv, referrals.csv).")
    parser.add_argument("--episodes", type=int, required=True, help="number of episodes")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=P.DATA_END,
                        help=f"data end date (default {P.DATA_END.isoformat()})")
    parser.add_argument("--full", action="store_true",
                        help="also write assessments.csv and referrals.csv, and the "
                             "enrollments' first_contact_date column")
    parser.add_argument("--referrals", type=int, default=None, metavar="N",
                        help="write N requests for service in all (implies --full; default: "
                             "about 1.6 per episode)")
    parser.add_argument("--fhir", action="store_true",
                        help="also write the scores as FHIR ndjson under OUT/fhir/ "
                             "(implies --full)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    full = args.full or args.fhir or args.referrals is not None
    started, cpu = time.perf_counter(), time.process_time()
    try:
        g = generate(args.episodes, args.seed, args.end, full=full, referrals=args.referrals)
    except ReferralCountError as exc:
        parser.error(str(exc))
    written = write_csv(g, args.out)
    fhir = write_fhir(g, args.out / "fhir") if args.fhir else None
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wrote {written.enrollment_rows} rows to {written.enrollments}")
    print(f"wrote {written.session_rows} rows to {written.sessions}")
    if written.assessments is not None:
        print(f"wrote {written.assessment_rows} rows to {written.assessments}")
        print(f"wrote {written.referral_rows} rows to {written.referrals}")
    if fhir is not None:
        print(f"wrote {fhir.observation_rows} rows to {fhir.observations}")
        print(f"wrote {fhir.patient_rows} rows to {fhir.patients}")
    print(f"in {seconds:.1f} s ({cpu:.1f} s CPU), peak RSS {peak_mb:.0f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
