"""Which store a process uses: the target from configuration, and one Store per target.

>>> with open_store().read() as cur: ...   # IOP_DB, else the bundled sample store
"""
from __future__ import annotations

import os
import threading

from analytics.config import REPO_ROOT
from analytics.store.base import Store
# The backends register with Store when imported; these are the two there are.
from analytics.store.embedded import EmbeddedStore  # noqa: F401
from analytics.store.lake import LakeStore  # noqa: F401

SAMPLE_STORE_PATH = REPO_ROOT / "sample_data" / "sample.duckdb"

_STORES: dict[str, Store] = {}
_STORES_LOCK = threading.Lock()


def default_target() -> str:
    """The store named by IOP_DB, else the bundled sample store."""
    return os.environ.get("IOP_DB") or str(SAMPLE_STORE_PATH)


def open_store(target: str | None = None) -> Store:
    """This process's Store for a target (IOP_DB or the sample store by default).

    The target picks the backend: 'ducklake:...' is a DuckLake, anything else a DuckDB file.
    """
    target = target or default_target()
    backend = Store.backend_for(target)
    target = backend.canonical_target(target)
    with _STORES_LOCK:
        if target not in _STORES:
            _STORES[target] = backend(target)
        return _STORES[target]
