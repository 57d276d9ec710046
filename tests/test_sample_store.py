"""The bundled sample store is built from the committed sample, and rebuilt when the sample changes."""
from __future__ import annotations

from analytics.ingest.importer import import_files
from analytics.ingest.sample_store import SAMPLE_FILES, ensure_sample_store
from analytics.store import Store


def loaded_kinds(path) -> dict[str, int]:
    store = Store(str(path))
    try:
        with store.read() as cur:
            return dict(cur.execute(
                "SELECT kind, count(*) FROM import_log WHERE status = 'loaded' GROUP BY kind").fetchall())
    finally:
        store.close()


def test_a_store_of_an_earlier_sample_gains_the_files_added_since(tmp_path):
    path = tmp_path / "sample.duckdb"
    earlier = [f for f in SAMPLE_FILES if f.name in ("enrollments.csv", "sessions.csv")]
    store = Store(str(path))
    try:
        import_files(store, earlier, actor="sample", mark_sample=True)
    finally:
        store.close()
    assert set(loaded_kinds(path)) == {"enrollments", "sessions"}

    ensure_sample_store(path)
    assert set(loaded_kinds(path)) == {"enrollments", "sessions", "assessments", "referrals"}
    before = loaded_kinds(path)
    ensure_sample_store(path)  # now current: nothing is imported again
    assert loaded_kinds(path) == before
