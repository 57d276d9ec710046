"""The import journal: every import log entry also appended to a plain file beside the store.

The import log lives inside the store, so a damaged store cannot say which files
it held. The journal can: one JSON object per line (batch, file, sha256, kind,
status, message, counts, times, actor), never patient data. An entry is appended
after its import committed (or failed, or was refused), so a line saying "loaded"
is a commit that happened. The store's own log stays the record of what it holds;
the journal is what to re-import from when the store is lost.

    {"batch": 7, "file": "sessions.csv", "sha256": "9f2c...", "kind": "sessions", "status": "loaded", ...}

>>> append_entries(store.journal_path(), [{"batch": 7, "file": "sessions.csv", ...}])
>>> read_entries("/srv/iop.duckdb.imports.jsonl")[-1]["sha256"]
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

from analytics.store.failures import quietly


def append_entries(path: str | None, entries: Iterable[dict]) -> None:
    """Append entries to the journal at path (none for a store without one).

    Writers in several processes append at once, so each batch of lines is one
    write under an exclusive lock. A journal that cannot be written (a read-only
    folder) must not turn a finished import into a failed one: the import log in
    the store has the entry, so the failure is only logged.
    """
    if path is None:
        return
    text = "".join(json.dumps(e, default=_plain, sort_keys=True) + "\n" for e in entries)
    if not text:
        return

    def append() -> None:
        with open(path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    quietly(append)


def read_entries(path: str | os.PathLike) -> list[dict]:
    """Every entry of a journal, oldest first (a line cut short by a crash is skipped)."""
    entries = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def _plain(value: object) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)
