"""What went wrong with a store, in plain words: every DuckDB and OS error classified once.

A store can fail in a few ways a user can act on, and each gets one sentence that
names the file (or, for DuckLake, the catalog's host and port, never the password),
the cause and what to do:

- StoreLocked: another process holds the file; then, and only then, "try again";
- StoreNotWritable: no permission to write it, or a read-only file system;
- StoreNoSpace: the disk is full (with the room an import needed, when known);
- StoreDamaged: not a store, cut short, or a block whose checksum does not match;
- CatalogUnreachable: DuckLake's PostgreSQL catalog does not answer.

Store.failure(exc) gives the classified error or None (a bug, left as it is). The
store's read() and write() raise these in place of DuckDB's own, so the CLI, the
importer and every page show the same sentence. DuckDB's messages may quote a
file's line (a CSV error) but never reach the user: only the file names and byte
offsets picked out here do.

>>> try:
...     with store.write() as cur: ...
... except StoreNoSpace as exc:
...     print(exc)   # No space left on the disk that holds the store /srv/iop.duckdb ...
"""
from __future__ import annotations

import errno
import logging
import re
import socket
from dataclasses import dataclass
from typing import Callable

from analytics.store.errors import StoreError

log = logging.getLogger(__name__)

RECOVERY = "docs/deploy.md, \"Recovery\""


class StoreLocked(StoreError):
    """Another process holds the store's lock; waiting and trying again helps."""
    cause = "locked"


class StoreNotWritable(StoreError):
    """The store (or a file beside it) may not be written: permissions, an immutable flag, a read-only mount."""
    cause = "not_writable"


class StoreNoSpace(StoreError):
    """The disk that holds the store is full, or too full for what an import needs."""
    cause = "no_space"

    def __init__(self, message: str, needed: int | None = None, free: int | None = None):
        super().__init__(message)
        self.needed = needed
        self.free = free


class StoreDamaged(StoreError):
    """The store's file is not a store, is cut short, or fails a checksum."""
    cause = "damaged"


class CatalogUnreachable(StoreError):
    """DuckLake's catalog database does not answer (PostgreSQL stopped, or the network is down)."""
    cause = "unreachable"


@dataclass(frozen=True)
class Where:
    """What a message calls the store, and where it lives.

    label: "the store /srv/iop.duckdb" or "the shared store";
    address: the catalog's "host:port" (DuckLake), never with a password.
    """
    label: str
    address: str | None = None


# -- classifying ------------------------------------------------------------------------
_NO_SPACE = ("no space left on device", "disk quota exceeded", "not enough space", "could not extend file")
_READ_ONLY = ("read-only file system",)
_NO_PERMISSION = ("permission denied", "operation not permitted")
_LOCKED = ("could not set lock on file", "conflicting lock", "lock on file")
_DAMAGED = {
    "checksum": "a block's checksum does not match: its bytes were changed on disk",
    "could not read enough bytes": "the file is cut short",
    "not a valid duckdb database file": "it is not a DuckDB store",
    "corrupt database file": "the file's bytes do not form a valid store",
    "failed to deserialize": "the file's bytes do not form a valid store",
    "database has been invalidated": "an earlier error left the open store unusable",
}
_UNREACHABLE = (
    "unable to connect to postgres", "server closed the connection", "connection refused",
    "could not connect to server", "no connection to the server", "terminating connection",
    "connection to server at", "could not receive data from server", "ssl syscall error",
    "connection timed out", "could not translate host name",
)
# PostgreSQL answered, and refused: a configuration problem for the lake to explain, not a lost catalog
# (libpq words them "connection to server at ... failed: FATAL: password authentication failed";
# a database or role that does not exist is a FATAL too).
_CATALOG_ANSWERED = ("password authentication failed", "no password supplied", "authentication failed",
                     "no pg_hba.conf entry")
_FILE_IN_MESSAGE = re.compile(r'file "([^"]+)"')
_LOCATION_IN_MESSAGE = re.compile(r"location (\d+)")


def classify(exc: BaseException, where: Where) -> StoreError | None:
    """The store failure exc is, in plain words, or None when it is none of the known kinds.

    >>> classify(OSError(errno.ENOSPC, "No space left on device"), Where("the store /x.duckdb"))
    StoreNoSpace('No space left on the disk that holds the store /x.duckdb: ...')
    """
    if isinstance(exc, StoreError):
        return exc
    text = str(exc)
    lower = text.lower()
    file = _file_named(exc, text)
    number = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    if number in (errno.ENOSPC, errno.EDQUOT) or any(s in lower for s in _NO_SPACE):
        return no_space(where)
    # A file system's refusal names the file (DuckDB quotes it); a catalog's does not.
    if number == errno.EROFS or (file and any(s in lower for s in _READ_ONLY)):
        return StoreNotWritable(
            f"{_capital(where.label)} cannot be written: {file or 'its file'} is on a read-only file system. "
            "Import where the store's disk is mounted read-write.")
    if number in (errno.EACCES, errno.EPERM) or (file and any(s in lower for s in _NO_PERMISSION)):
        return StoreNotWritable(
            f"{_capital(where.label)} cannot be written: the system does not permit writing "
            f"{file or 'its file'} (its permissions, or an immutable flag). Give the accounts that write to it "
            "(imports, and the dashboard's audit log) write access to the store and its folder.")
    answered = any(s in lower for s in _CATALOG_ANSWERED) or ("fatal:" in lower and "does not exist" in lower)
    if where.address is not None and any(s in lower for s in _UNREACHABLE) and not answered:
        return unreachable(where)
    if any(s in lower for s in _LOCKED):
        return locked(where)
    for marker, reason in _DAMAGED.items():
        if marker in lower:
            at = _LOCATION_IN_MESSAGE.search(text)
            offset = f" (at byte {at.group(1)})" if at and marker == "checksum" else ""
            return damaged(where, reason + offset)
    return None


def locked(where: Where) -> StoreLocked:
    return StoreLocked(f"{_capital(where.label)} is in use by another process (an import or a backup); "
                       "try again when it has finished.")


def no_space(where: Where, needed: int | None = None, free: int | None = None) -> StoreNoSpace:
    """The no-space failure; with needed and free (bytes), the refusal an import meets before writing."""
    if needed is not None and free is not None:
        return StoreNoSpace(
            f"Not enough free space on the disk that holds {where.label}: this import needs about "
            f"{_size(needed)} and {_size(free)} is free. Nothing was written; free some space and import again.",
            needed, free)
    return StoreNoSpace(f"No space left on the disk that holds {where.label}: nothing was changed. "
                        "Free some space (or move the store to a larger disk) and try again.")


def damaged(where: Where, reason: str) -> StoreDamaged:
    return StoreDamaged(
        f"{_capital(where.label)} is damaged ({reason}): run python -m analytics check to see what is "
        f"affected, and restore it from a backup or rebuild it from the original exports ({RECOVERY}).")


def unreachable(where: Where) -> CatalogUnreachable:
    return CatalogUnreachable(
        f"The shared store is unreachable (its catalog database at {where.address} does not answer), "
        "so nothing was read or changed; the dashboard reconnects by itself once it is back.")


_IN_FEW_WORDS = {
    "no_space": "the disk that holds the store has no room left",
    "not_writable": "the store may not be written",
    "damaged": "the store is damaged",
    "unreachable": "the catalog does not answer",
    "locked": "another process holds the store",
}


def in_few_words(failure: StoreError | None, exc: BaseException) -> str:
    """Why a step failed, in a few words to put inside a sentence of one's own.

    >>> in_few_words(classify(OSError(errno.ENOSPC, "No space left on device"), where), exc)
    'the disk that holds the store has no room left'
    """
    return _IN_FEW_WORDS.get(getattr(failure, "cause", ""), type(exc).__name__)


def reachable(address: str, timeout: float = 1.0) -> bool:
    """Whether something accepts a TCP connection at 'host:port' (a Unix socket path counts as reachable)."""
    host, _, port = address.rpartition(":")
    if host.startswith("/") or not port.isdigit():
        return True  # a socket folder: no TCP probe, so the message patterns decide
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def quietly(step: Callable[..., object], *args: object) -> None:
    """Run a clean-up step after a failure: its own error is logged (by type), never raised over the first.

    >>> try: work(cur)
    ... except BaseException:
    ...     quietly(drop_staging, cur)
    ...     raise
    """
    try:
        step(*args)
    except Exception as exc:  # noqa: BLE001 - the first error is the one the user must see
        log.warning("clean-up %s failed after an earlier error: %s",
                    getattr(step, "__name__", "step"), type(exc).__name__)


def _file_named(exc: BaseException, text: str) -> str | None:
    if isinstance(exc, OSError) and exc.filename:
        return str(exc.filename)
    found = _FILE_IN_MESSAGE.search(text)
    return found.group(1) if found else None


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _size(n: int) -> str:
    """A byte count for a message: '14.2 MB', '512 kB'."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
