"""Whether the disk holding a store has room for what an import is about to write.

An import that fills the disk fails and is rolled back, and the store is left as
it was; but a 650 MB export that fails after minutes for want of room is better
refused before it writes. Just before a file's rows are written, the store knows
how many rows it will write (new and changed ones: unchanged rows cost nothing)
and the file's size per row, so:

    needed = rows written x bytes per row of the file x BYTES_PER_INPUT_BYTE + SLACK_BYTES

BYTES_PER_INPUT_BYTE: the embedded store holds a session export's new rows in
about a quarter of the CSV's bytes (columnar and compressed; the peak while an
import of 46 MB of new sessions commits was 0.30 of the file's size); a replaced
row also keeps its old version in the history, counted alike. SLACK_BYTES covers
the blocks every write touches (the import log, the audit, the write-ahead log).
The estimate is meant to be low: an import is refused only when the free room is
clearly too small. One that passes and still runs out of room fails cleanly
(StoreNoSpace) and leaves the store as it was.

>>> needed_bytes(rows=1_000_000, bytes_per_row=70.0)
18548576
"""
from __future__ import annotations

import os

BYTES_PER_INPUT_BYTE = 0.25
SLACK_BYTES = 1 << 20


def needed_bytes(rows: int, bytes_per_row: float) -> int:
    """The room, in bytes, that writing rows rows of a file with bytes_per_row bytes each needs."""
    return int(rows * bytes_per_row * BYTES_PER_INPUT_BYTE) + SLACK_BYTES


def free_bytes(folder: str) -> int | None:
    """Bytes an unprivileged writer may still use on the file system holding folder (None: cannot tell)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize
