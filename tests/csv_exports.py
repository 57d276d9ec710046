"""Small export files written by tests, and what an import made of them."""
from __future__ import annotations

from pathlib import Path


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    """path holding the header line and the rows, one per line."""
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def counts(result) -> list[tuple]:
    """(kind, inserted, updated, unchanged, rejected) per file of an import result."""
    return [(f.kind, f.inserted, f.updated, f.unchanged, f.rejected) for f in result.files]


def counts_with_rows(result) -> list[tuple]:
    """(kind, rows, inserted, updated, unchanged, rejected) per file of an import result."""
    return [(f.kind, f.rows, f.inserted, f.updated, f.unchanged, f.rejected) for f in result.files]
