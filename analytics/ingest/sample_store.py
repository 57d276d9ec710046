"""The bundled sample store, built from the committed synthetic CSVs on first start.

>>> ensure_sample_store(SAMPLE_STORE_PATH)   # no-op when the store already holds this sample
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from analytics.config import REPO_ROOT
from analytics.store import StoreOutdated, SAMPLE_STORE_PATH, open_store

SAMPLE_DIR = REPO_ROOT / "sample_data"
SAMPLE_FILES = tuple(SAMPLE_DIR / name for name in
                     ("enrollments.csv", "sessions.csv", "assessments.csv", "referrals.csv"))

__all__ = ["ensure_sample_store", "SAMPLE_STORE_PATH", "SAMPLE_FILES"]


def _holds_current_sample(path: Path) -> bool:
    """True when the store at path has loaded every sample file as it is now (by its sha256),
    so a sample regenerated with more files or other rows is imported again."""
    if not path.exists():
        return False
    store = open_store(str(path))
    try:
        with store.read() as cur:
            pass
    except StoreOutdated:
        store.bring_up_to_date()  # the bundled sample is ours to migrate, unlike a user's store
    with store.read() as cur:
        loaded = {sha for (sha,) in cur.execute(
            "SELECT sha256 FROM import_log WHERE status = 'loaded'").fetchall()}
    return all(f.exists() and hashlib.sha256(f.read_bytes()).hexdigest() in loaded for f in SAMPLE_FILES)


def ensure_sample_store(path: str | os.PathLike = SAMPLE_STORE_PATH) -> None:
    """Build the sample store at path from sample_data/*.csv unless it holds them as they are.

    A store built from an earlier sample (fewer files, other rows) is brought up to date by
    importing them all again: rows that did not change are left as they are.

    The store's meta 'contents' is 'sample', so the dashboard can say so. Two
    processes starting at once both import; the second finds every row unchanged.
    """
    from analytics.ingest.importer import import_files  # ingest imports store; keep this module light

    path = Path(path)
    if _holds_current_sample(path):
        return
    missing = [str(f) for f in SAMPLE_FILES if not f.exists()]
    if missing:
        raise FileNotFoundError(f"sample data missing: {', '.join(missing)}")
    import_files(open_store(str(path)), SAMPLE_FILES, actor="sample", mark_sample=True)
