"""Pass 2 and the write of one staged file: checks across rows, rejects, and the batch
applied through the store's interface (Store.apply_batch), inside the command's transaction.

Every row ends up counted once: inserted, updated, unchanged or rejected, and for a
FHIR file also skipped (a resource of another type). A FHIR retraction also removes
the stored row of its id (Store.remove_rows), counted as removed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import duckdb

from analytics.ingest import fhir
from analytics.ingest.lines import define_rows
from analytics.ingest.profiles import Profile
from analytics.ingest.staging import Staged, park
from analytics.store import Store, sql_text
from analytics.store.schema import KINDS
from analytics.store.sql_files import sql_parameters


@dataclass(frozen=True)
class FileResult:
    """What an import did with one file. skipped and removed are counted for FHIR files only
    (None otherwise): resources of other types, and stored rows a retraction took out."""
    file: str
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    skipped: int | None = None
    removed: int | None = None
    # The file's batch in the import log (`changes` and `undo` take it). Not compared:
    # two results are the same import's outcome whatever number the store gave it.
    batch: int = field(default=0, compare=False)

    def counts(self) -> dict:
        """Its fields as the CLI's --format json and the audit trail give them: skipped and
        removed only for a FHIR file."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def note(self) -> str | None:
        """The import log's words for what a FHIR file also did; None for other files."""
        if self.skipped is None:
            return None
        return (f"{self.skipped} resource{'s' if self.skipped != 1 else ''} of other types skipped; "
                f"{self.removed} stored row{'s' if self.removed != 1 else ''} removed (entered in error)")


def apply_staged(cur: duckdb.DuckDBPyConnection, store: Store, staged: Staged, profile: Profile,
                 batch_id: int, step: Callable[[float, str], None]) -> FileResult:
    """Check a staged file across rows and against the store, write its rejects, apply its valid rows."""
    plan, n_rows, reader_rejects = staged.plan, staged.n_rows, staged.reader_rejects
    scan, kind = plan.scan, plan.kind
    is_fhir = scan.file_type == "ndjson"
    name = scan.path.name
    park(cur, staged.slot, scan.file_type, back=True)
    define_rows(cur, plan, profile, n_rows, reader_rejects)
    if scan.file_type == "xlsx":
        n_rows = cur.execute("SELECT count(*) FROM ingest_rows").fetchone()[0]

    step(0.0, f"{scan.label}: checking across rows")
    cur.execute(sql_text("ingest/dq_duplicates"))
    # FHIR rows carry the Observation's own id, named as FHIR names it
    id_column, id_label = ("id", "Observation id") if is_fhir else (KINDS[kind].id_column,) * 2
    cur.execute(sql_text("ingest/dq_duplicate_problems"), {"id_column": id_column, "id_label": id_label})
    if is_fhir:
        # the episode of each Observation, from its patient and date
        cur.execute(sql_text(f"ingest/ingest_{kind}_fhir_episodes"), fhir.episode_parameters(profile))
    across_rows = f"ingest/dq_{kind}_fhir_across_rows" if is_fhir else f"ingest/dq_{kind}_across_rows"
    offered = {"date_format": profile.date_formats[0]}  # a date shown as read, in the profile's format
    cur.execute(sql_text(across_rows), {k: v for k, v in offered.items() if k in sql_parameters(across_rows)})
    # an identical file imported before: its rejects are replaced, not repeated
    cur.execute(
        "DELETE FROM store.rejects WHERE kind = $kind AND batch_id IN "
        "(SELECT batch_id FROM store.import_log WHERE sha256 = $sha AND kind = $kind AND status = 'loaded')",
        {"kind": kind, "sha": scan.sha256},
    )
    reject_params = {"batch_id": batch_id, "file": name, "kind": kind}
    rejected = cur.execute(sql_text("ingest/ingest_rejects"), reject_params).fetchone()[0]
    if reader_rejects:
        # records the CSV reader could not split into the header's fields; the raw
        # line is masked for a kind whose lines may hold a patient id
        rejected += cur.execute(sql_text("ingest/ingest_reader_rejects"),
                                reject_params | {"mask_lines": KINDS[kind].has_free_text}).fetchone()[0]
    repeats = cur.execute(sql_text("ingest/ingest_repeat_copies")).fetchone()[0]

    step(0.4, f"{scan.label}: applying to the store")
    cur.execute(sql_text("ingest/ingest_excluded"))
    if is_fhir:
        cur.execute(sql_text("ingest/ingest_valid_fhir"))
    elif cur.execute("SELECT count(*) FROM ingest_excluded").fetchone()[0]:
        cur.execute(sql_text("ingest/ingest_valid"))
    else:  # the usual case: nothing excluded across rows, so no anti-join
        cur.execute("CREATE OR REPLACE TEMP VIEW ingest_valid AS SELECT * FROM ingest_rows WHERE problems IS NULL")
    valid = cur.execute("SELECT count(*) FROM ingest_valid").fetchone()[0]
    # the file's size per row lets the store refuse, before writing, rows its disk has no room for
    inserted, updated = store.apply_batch(cur, kind, batch_id, source="ingest_valid",
                                          bytes_per_row=scan.size / max(n_rows + reader_rejects, 1))
    skipped = removed = None
    if is_fhir:
        skipped = cur.execute("SELECT count(*) FROM ingest_rows WHERE skipped").fetchone()[0]
        cur.execute(sql_text("ingest/ingest_fhir_retracted"))
        removed = store.remove_rows(cur, kind, "ingest_fhir_retracted", batch_id)
    total = n_rows + reader_rejects
    unchanged = repeats + valid - inserted - updated
    if inserted + updated + unchanged + rejected + (skipped or 0) != total:
        # every row must be loaded, unchanged, rejected or skipped; anything else is a bug,
        # and the transaction is rolled back rather than store a partial file
        raise RuntimeError(f"import counts do not add up for {name}")
    return FileResult(name, kind, total, inserted, updated, unchanged, rejected, skipped, removed, batch=batch_id)
