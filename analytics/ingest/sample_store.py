"""The bundled sample store, built from the committed synthetic CSVs on first start.

>>> ensure_sample_store(SAMPLE_STORE_PATH)   # no-op when the store already holds the sample
"""
from __future__ import annotations

import os
from pathlib import Path

from analytics.config import REPO_ROOT
from analytics.store import StoreOutdated, SAMPLE_STORE_PATH, open_store

SAMPLE_DIR = REPO_ROOT / "sample_data"
SAMPLE_FILES = tuple(SAMPLE_DIR / name for name in
                     ("enrollments.csv", "sessions.csv", "assessments.csv", "referrals.csv"))

__all__ = ["ensure_sample_store", "SAMPLE_STORE_PATH", "SAMPLE_FILES"]


def _has_data(path: Path) -> bool:
    if not path.exists():
        return False
    store = open_store(str(path))
    try:
        with store.read() as cur:
            pass
    except StoreOutdated:
        store.bring_up_to_date()  # the bundled sample is ours to migrate, unlike a user's store
    with store.read() as cur:
        loaded = cur.execute("SELECT count(*) FROM import_log WHERE status = 'loaded'").fetchone()[0]
    return loaded > 0


def ensure_sample_store(path: str | os.PathLike = SAMPLE_STORE_PATH) -> None:
    """Build the sample store at path from sample_data/*.csv unless it already has data.

    The store's meta 'contents' is 'sample', so the dashboard can say so. Two
    processes starting at once both import; the second finds every row unchanged.
    """
    from analytics.ingest.importer import import_files  # ingest imports store; keep this module light

    path = Path(path)
    if _has_data(path):
        return
    missing = [str(f) for f in SAMPLE_FILES if not f.exists()]
    if missing:
        raise FileNotFoundError(f"sample data missing: {', '.join(missing)}")
    import_files(open_store(str(path)), SAMPLE_FILES, actor="sample", mark_sample=True)
