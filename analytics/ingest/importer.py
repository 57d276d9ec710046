"""Importing EHR exports into the store: every row is either loaded or kept in rejects with its reasons.

How a file goes in (the store changes in one transaction for the whole command):
1. The first bytes decide whether it is text at all; sha256, line count and
   blank lines follow from a thread over every byte (files.py). Files that
   cannot be read as a whole are refused there or when DuckDB reads the header
   (readers.py; ImportRefused, nothing of the command is loaded).
2. Pass 1 (sql/ingest/ingest_<kind>_rows.sql), before the transaction, into temp
   tables only (staging.py): DuckDB reads every column as text and checks and
   casts each row with column expressions over the whole file, in the file's
   order, so a row's index gives its physical line (lines.py).
3. Pass 2 (sql/ingest/dq_*.sql), inside the transaction: checks across rows and
   against the store (duplicates, unknown episodes, sessions outside their episode,
   admitted referrals whose episode was admitted before their first contact).
4. Rejects are written, then the store applies the valid rows by id (apply.py,
   Store.apply_batch: the latest import wins; identical rows are left alone; a
   replaced row is kept in the store's history with this file's batch).

Every attempt is in the import log, with each file's name and sha256: loaded,
refused (the file cannot be imported; ImportRefused) or failed (the store could
not take it: a full disk, a store that cannot be written, a lost catalog; the
analytics.store.failures error is raised in plain words, and nothing of the
command is loaded). Each entry is also appended to the journal beside the store
(analytics.store.journal), which a damaged store cannot lose. Before it writes,
an import reads the whole store once (Store.verify), so it never adds to a
damaged one.

FHIR Bulk Data files (ndjson) take the same steps, read by fhir.py. Every command
writes the instrument definitions in force into the store, and the store records
whether its patient ids are pseudonyms (pseudonyms.py).

The kinds of export, their columns and the order they are applied in come from
analytics.store.schema.KINDS. This module runs a command and keeps its import log.

>>> result = import_files(open_store("/tmp/iop.duckdb"), ["enrollments.csv", "sessions.csv"])
>>> [(f.kind, f.inserted, f.rejected) for f in result.files]
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from analytics.ingest import fhir
from analytics.ingest.apply import FileResult, apply_staged
from analytics.ingest.files import ImportRefused, Scan, scan_file
from analytics.ingest.profiles import Profile, ProfileError, load_profile
from analytics.ingest.pseudonyms import check_patient_ids
from analytics.ingest.readers import plan_file
from analytics.ingest.staging import Staged, drop_staging, stage
from analytics.instruments import Instrument, configured_instruments
from analytics.privacy import audit
from analytics.store import Store, StoreError, set_meta
from analytics.store.failures import CatalogUnreachable, StoreDamaged, StoreLocked, quietly
from analytics.store.instruments import write_instruments
from analytics.store.journal import append_entries
from analytics.store.schema import APPLY_ORDER, KINDS

__all__ = [
    "import_files", "ImportResult", "FileResult", "ImportRefused", "Progress",
    "PSEUDONYM_ENV", "MEMORY_ENV", "DEFAULT_MEMORY_LIMIT",
]

Progress = Callable[[float, str], None]
PSEUDONYM_ENV = "IOP_PSEUDONYM_KEY"
# The CLI's cap on DuckDB's memory; beyond it DuckDB spills to disk beside the store.
MEMORY_ENV = "IOP_IMPORT_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class ImportResult:
    files: tuple[FileResult, ...]
    # Set when the import committed but the store could not finish writing it (a full
    # disk at the checkpoint): the rows are in, and the user is told what to do.
    warning: str | None = None

    def as_json(self) -> dict:
        """The --format json output: skipped and removed appear for FHIR files only."""
        return {"files": [f.counts() for f in self.files]} | ({"warning": self.warning} if self.warning else {})


def _progress_step(report: Progress, done: int, size: int, total: int, start: float,
                   end: float) -> Callable[[float, str], None]:
    """A file's progress callback: its share of the bytes, within one phase of the command.

    Both phases (pass 1 before the transaction, the rest inside it) walk the
    files in turn, so the command's fraction runs from start to end once per phase.
    """
    def step(fraction: float, message: str) -> None:
        report(min(1.0, start + (end - start) * (done + fraction * size) / total), message)

    return step


_LOG_COLUMNS = ("batch_id", "file", "sha256", "kind", "profile", "started_at", "finished_at", "status", "message",
                "rows", "inserted", "updated", "unchanged", "rejected", "deleted", "undoes", "actor")


def log_entry(cur: duckdb.DuckDBPyConnection, entry: dict) -> dict:
    """Write one import log row (any of _LOG_COLUMNS; the others NULL) with a write cursor; returns it.

    The same dict goes to the journal beside the store once the transaction is over
    (analytics.store.journal.append_entries).
    >>> log_entry(cur, {"batch_id": 7, "file": "sessions.csv", "status": "loaded", ...})
    """
    row = {c: entry.get(c) for c in _LOG_COLUMNS}
    cur.execute(f"INSERT INTO store.import_log ({', '.join(_LOG_COLUMNS)}) "
                f"VALUES ({', '.join('$' + c for c in _LOG_COLUMNS)})", row)
    return row


def _log(cur: duckdb.DuckDBPyConnection, batch_id: int, name: str, sha: str | None, kind: str | None,
         profile: Profile, started: datetime, status: str, message: str | None,
         result: FileResult | None, actor: str) -> dict:
    counts = ({k: getattr(result, k) for k in ("rows", "inserted", "updated", "unchanged", "rejected")}
              if result else {})
    return log_entry(cur, {"batch_id": batch_id, "file": name, "sha256": sha, "kind": kind, "profile": profile.name,
                           "started_at": started, "finished_at": _now(), "status": status, "message": message,
                           "actor": actor} | counts)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def import_files(
    store: Store,
    paths: Iterable[str | os.PathLike],
    *,
    kind: str | None = None,
    profile: Profile | str | os.PathLike | None = None,
    actor: str = "cli",
    pseudonymise_key: bytes | None = None,
    progress: Progress | None = None,
    mark_sample: bool = False,
    memory_limit: str | None = None,
) -> ImportResult:
    """Import files in one transaction; enrollments first. Raises ImportRefused (nothing loaded),
    or ProfileError / InstrumentError for a profile or instruments file that cannot be used.

    Results come in the order the files were applied. memory_limit (e.g. "1GB")
    caps DuckDB's memory for the whole process, spilling to <store>.tmp: the CLI
    sets it; a dashboard process leaves its own settings alone.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    paths = list(paths)
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    # the definitions in force, checked now (InstrumentError names the file and entry);
    # the command writes them into the store, so a changed config takes effect here
    instruments = configured_instruments()
    check_profile(profile, instruments)
    started = _now()
    try:
        # On DuckLake an import that replaces something (a re-import's rejects, the
        # meta row) can meet a concurrent commit; the whole import is then rerun.
        return store.retrying(lambda: _import_once(
            store, paths, kind=kind, profile=profile, instruments=instruments, actor=actor,
            pseudonymise_key=pseudonymise_key, progress=progress, mark_sample=mark_sample, memory_limit=memory_limit,
            started=started))
    except ImportRefused:
        raise  # logged where it was found, with the file's hash and kind
    except StoreError as failure:
        _log_failed(store, paths, profile, started, actor, str(failure), failure)
        raise
    except Exception as exc:
        # Not a store failure in plain words: logged by its type only (its message may quote data).
        _log_failed(store, paths, profile, started, actor, f"the import failed ({type(exc).__name__})", None)
        raise


def _import_once(store: Store, paths: list, *, kind: str | None, profile: Profile,
                 instruments: tuple[Instrument, ...], actor: str, pseudonymise_key: bytes | None,
                 progress: Progress | None, mark_sample: bool,
                 memory_limit: str | None, started: datetime) -> ImportResult:
    labels = [str(p) for p in paths]
    report = progress or (lambda fraction, message: None)
    scans: list[Scan] = []
    # one thread hashes and counts lines of each file while DuckDB reads them
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iop-import-scan")
    try:
        for label in labels:
            scans.append(scan_file(Path(label), label, profile, pool))
        total_bytes = sum(s.size for s in scans) or 1
        results: list[FileResult] = []
        staged: list[Staged] = []

        def stage_all(cur: duckdb.DuckDBPyConnection) -> None:
            # Runs on the write cursor before its transaction begins (see staging.py).
            cur.execute("SET enable_progress_bar = false")  # progress goes through `progress`
            if memory_limit:
                cur.execute("SET memory_limit = $v", {"v": memory_limit})
                cur.execute("SET temp_directory = $v", {"v": store.spill_directory()})
            plans = [plan_file(cur, scan, profile, kind) for scan in scans]
            plans.sort(key=lambda p: APPLY_ORDER.index(p.kind))
            fhir.begin_command(cur)
            done = 0
            for slot, plan in enumerate(plans):
                staged.append(stage(cur, plan, profile, slot, instruments, pseudonymise_key,
                                    _progress_step(report, done, plan.scan.size, total_bytes, 0.0, 0.5)))
                done += plan.scan.size
            # the Patient resources of every FHIR file are read by now
            fhir.pseudonymise_patients(cur, profile, pseudonymise_key)

        entries: list[dict] = []
        with store.write(prepare=stage_all) as cur:
            store.verify(cur)  # never add to a damaged store
            # raw ids and pseudonyms, or pseudonyms of two keys, must never meet in one store
            check_patient_ids(cur, [s.plan.scan for s in staged if _carries_patient_ids(s)], pseudonymise_key)
            done = 0
            batch_id = None
            for item in staged:
                plan = item.plan
                batch_id = store.next_batch_id(cur)
                step = _progress_step(report, done, plan.scan.size, total_bytes, 0.5, 1.0)
                try:
                    result = apply_staged(cur, store, item, profile, batch_id, step)
                except BaseException:
                    quietly(drop_staging, cur)  # the apply's own error is the one to report
                    raise
                drop_staging(cur)
                entries.append(_log(cur, batch_id, result.file, plan.scan.sha256, plan.kind, profile, started,
                                    "loaded", result.note, result, actor))
                detail = result.counts() | {"sha256": plan.scan.sha256, "profile": profile.name,
                                           "pseudonymised": pseudonymise_key is not None}
                audit.record(cur, actor, "import", detail)
                results.append(result)
                done += plan.scan.size
            write_instruments(cur, instruments, batch_id if batch_id is not None else store.next_batch_id(cur))
            set_meta(cur, "contents", "sample" if mark_sample else "imported")
        unfinished = store.unfinished_write()
        warning = str(unfinished) if unfinished is not None else None
        # committed: now the journal may say so
        append_entries(store.journal_path(), [e | {"message": warning} if warning else e for e in entries])
        report(1.0, "import finished")
        return ImportResult(tuple(results), warning)
    except ImportRefused as refused:
        _log_refused(store, refused, profile, started, actor)
        raise
    finally:
        pool.shutdown(cancel_futures=True)


def check_profile(profile: Profile, instruments: tuple[Instrument, ...]) -> None:
    """Refuse a profile whose instrument mappings name no instrument in force, or contradict
    the instruments' own codes (ProfileError, before any file is read)."""
    names = [i.name for i in instruments]
    unknown = profile.unknown_instruments(names)
    if unknown:
        raise ProfileError(f"profile {profile.source}: maps labels or codes to {', '.join(unknown)}, "
                           f"not a configured instrument ({', '.join(names)})")
    clashes = fhir.clashing_codes(instruments, profile)
    if clashes:
        raise ProfileError(f"profile {profile.source}: [[fhir.codes]] gives {', '.join(clashes)} another "
                           "instrument than the instruments' own codes do")


def _carries_patient_ids(staged: Staged) -> bool:
    """Whether a file's rows name patients: a kind with a patient column, or FHIR (subject references)."""
    return bool(KINDS[staged.plan.kind].patient_column) or staged.plan.scan.file_type == "ndjson"


def _log_refused(store: Store, refused: ImportRefused, profile: Profile, started: datetime, actor: str) -> None:
    """Record a refused attempt in its own transaction, after the command's rollback."""
    if not store.exists():
        return  # no store yet: do not create one just to log a refusal
    _log_attempts(store, [(Path(refused.file).name, refused.sha256, refused.kind)], profile, started,
                  "refused", refused.problem, actor, in_store=True)


def _log_failed(store: Store, paths: list, profile: Profile, started: datetime, actor: str, message: str,
                failure: StoreError | None) -> None:
    """Record a failed command, one row per file, after its rollback: in the store where it can
    still be written, and always in the journal beside it."""
    # A damaged store is not written to; a locked or lost one cannot be now.
    in_store = store.exists() and not isinstance(failure, (StoreDamaged, StoreLocked, CatalogUnreachable))
    files = [(Path(p).name, _sha256_or_none(p), None) for p in paths]
    _log_attempts(store, files, profile, started, "failed", message, actor, in_store=in_store)


def _log_attempts(store: Store, files: list[tuple[str, str | None, str | None]], profile: Profile,
                  started: datetime, status: str, message: str, actor: str, in_store: bool) -> None:
    entries: list[dict] = []

    def write() -> None:
        entries.clear()
        with store.write() as cur:
            for name, sha, kind in files:
                entries.append(_log(cur, store.next_batch_id(cur), name, sha, kind, profile, started,
                                    status, message, None, actor))

    if in_store:
        try:
            store.retrying(write)
        except (StoreError, duckdb.Error, OSError):
            entries.clear()  # the attempt's own error is what the user needs to see
    if not entries:
        entries = [{"batch_id": None, "file": name, "sha256": sha, "kind": kind, "profile": profile.name,
                    "started_at": started, "finished_at": _now(), "status": status, "message": message,
                    "actor": actor} for name, sha, kind in files]
    append_entries(store.journal_path(), entries)


def _sha256_or_none(path: str | os.PathLike) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
