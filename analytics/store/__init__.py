"""The store: where imported rows live, and the one way to read or write them.

A store is reached through one interface, Store (base.py), whatever holds it:
an embedded DuckDB file (embedded.EmbeddedStore) or, for an organisation, a
DuckLake with a PostgreSQL catalog (lake.LakeStore). open_store(target) picks
the backend from the target ('ducklake:...' or a file path) and keeps one per
process. Every backend gives a read cursor (`with store.read() as cur`), a
write transaction (`with store.write(prepare=...) as cur`, prepare being the
import's pass 1 outside the transaction), a data version for cache keys, the
next batch id, apply_batch() to write a validated batch by id (the latest
import wins; rows identical to the stored ones are left alone), retrying() to
rerun a whole transaction that met a concurrent commit (only DuckLake has
those; the file runs it once), and maintain() (DuckLake's compaction and
expiry; an embedded file needs none).

Also here: the table definitions and the export kinds (schema), the SQL macros
every query starts from (macros), the meta table, and running a named query
from analytics/sql/ with bound filters (queries). What can go wrong with a store is
classified once, in plain words (failures); the history of replaced rows
(history), checking a store (check), the room an import needs (room) and the
import journal beside the store (journal) are here too. May import analytics.config
and analytics.filters only: everything else in analytics builds on it.

>>> from analytics.filters import Filters
>>> from analytics.store import bind_filters, fetch_df, open_store
>>> with open_store().read() as cur:
...     bind_filters(cur, Filters()); fetch_df(cur, "metrics/session_rates", {"completion_share": 0.9})
"""
from analytics.store.base import Store
from analytics.store.errors import StoreError
from analytics.store.failures import (
    CatalogUnreachable, StoreDamaged, StoreLocked, StoreNoSpace, StoreNotWritable,
)
from analytics.store.embedded import EmbeddedStore
from analytics.store.lake import LakeStore
from analytics.store.meta import get_meta, set_meta
from analytics.store.opening import SAMPLE_STORE_PATH, default_target, open_store
from analytics.store.queries import bind_filters, default_as_of, fetch_df
from analytics.store.sql_files import SQL_DIR, sql_text
from analytics.store.versions import CURRENT_VERSION, StoreOutdated, StoreTooNew

__all__ = [
    "Store", "StoreError", "StoreLocked", "StoreNotWritable", "StoreNoSpace", "StoreDamaged",
    "CatalogUnreachable", "EmbeddedStore", "LakeStore", "open_store", "default_target",
    "SAMPLE_STORE_PATH", "get_meta", "set_meta", "bind_filters", "default_as_of", "fetch_df",
    "sql_text", "SQL_DIR", "CURRENT_VERSION", "StoreOutdated", "StoreTooNew",
]
