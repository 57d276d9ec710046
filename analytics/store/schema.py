"""The canonical columns, vocabularies and store tables: the one source of truth.

Everything that names a column or a category imports it from here, so the
importer, the analytics SQL and the docs cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass

DISCHARGE_REASONS: tuple[str, ...] = (
    "completed", "dropped_out", "terminated", "transferred", "incarcerated", "death", "other",
)
# TEDS-D: dropped out (2) and terminated by facility (3) are the unplanned endings.
UNPLANNED_REASONS: tuple[str, ...] = ("dropped_out", "terminated")
SESSION_STATUSES: tuple[str, ...] = ("attended", "no_show", "patient_cancelled", "program_cancelled")
# The five IOP components; other session types are kept as given.
SESSION_TYPES: tuple[str, ...] = ("individual", "group", "family", "relapse_prevention", "life_skills")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type after validation
    required: bool
    free_text: bool = False  # masked in rejects and never echoed in messages
    # How the embedded store compresses a text column. Left to itself, DuckDB tries
    # every method on every column as it writes, and building a dictionary of 10 M
    # unique session ids cost 1.6 s of CPU only to choose FSST. These are the methods
    # it chose by itself for the generator's exports, so the file is no larger.
    compression: str | None = None


ENROLLMENT_COLUMNS: tuple[Column, ...] = (
    Column("episode_id", "VARCHAR", True, compression="fsst"),
    Column("patient_id", "VARCHAR", True, free_text=True, compression="fsst"),
    Column("site", "VARCHAR", True, compression="dictionary"),
    Column("program", "VARCHAR", True, compression="dictionary"),
    Column("admit_date", "DATE", True),
    Column("discharge_date", "DATE", False),
    Column("discharge_reason", "VARCHAR", False, compression="dictionary"),
    Column("planned_weeks", "INTEGER", False),
)
SESSION_COLUMNS: tuple[Column, ...] = (
    Column("session_id", "VARCHAR", True, compression="fsst"),
    Column("episode_id", "VARCHAR", True, compression="dictionary"),
    Column("session_date", "DATE", True),
    Column("session_type", "VARCHAR", True, compression="dictionary"),
    Column("clinician", "VARCHAR", False, compression="dictionary"),
    Column("scheduled_minutes", "INTEGER", True),
    Column("attended_minutes", "INTEGER", True),
    Column("status", "VARCHAR", True, compression="dictionary"),
)
KINDS: dict[str, tuple[Column, ...]] = {"enrollments": ENROLLMENT_COLUMNS, "sessions": SESSION_COLUMNS}
ID_COLUMN = {"enrollments": "episode_id", "sessions": "session_id"}

# Store tables. Written with the `store.` catalog prefix because the process
# connection is in-memory and the store is ATTACHed under that name (see store.py).
# No PRIMARY KEY constraints: DuckLake has none, so uniqueness is the importer's job.
def _data_table_ddl(kind: str, pin_compression: bool) -> str:
    """CREATE TABLE for sessions or enrollments, from the column lists above.

    >>> _data_table_ddl("sessions", True)[:86]
    'CREATE TABLE IF NOT EXISTS store.sessions (session_id VARCHAR USING COMPRESSION fsst, '
    """
    columns = [
        f"{c.name} {c.type}" + (f" USING COMPRESSION {c.compression}" if pin_compression and c.compression else "")
        for c in KINDS[kind]
    ]
    if kind == "enrollments":
        columns.append("extra MAP(VARCHAR, VARCHAR)")  # the export's further columns
    columns += ["batch_id BIGINT", "source_line BIGINT"]  # which import, which line
    return f"CREATE TABLE IF NOT EXISTS store.{kind} (" + ", ".join(columns) + ")"


def _store_ddl(pin_compression: bool) -> tuple[str, ...]:
    return (
        """CREATE TABLE IF NOT EXISTS store.meta (key VARCHAR, value VARCHAR)""",
        _data_table_ddl("enrollments", pin_compression),
        _data_table_ddl("sessions", pin_compression),
        """CREATE TABLE IF NOT EXISTS store.import_log (
            batch_id BIGINT, file VARCHAR, sha256 VARCHAR, kind VARCHAR, profile VARCHAR,
            started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, message VARCHAR,
            rows BIGINT, inserted BIGINT, updated BIGINT, unchanged BIGINT, rejected BIGINT,
            actor VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS store.rejects (
            batch_id BIGINT, file VARCHAR, kind VARCHAR, line BIGINT, record_id VARCHAR,
            problems STRUCT("column" VARCHAR, raw_value VARCHAR, reason VARCHAR)[])""",
        """CREATE TABLE IF NOT EXISTS store.interventions (
            intervention_id BIGINT, on_date DATE, title VARCHAR, note VARCHAR,
            site VARCHAR, program VARCHAR, recorded_by VARCHAR, recorded_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS store.audit_log (
            logged_at TIMESTAMP, actor VARCHAR, action VARCHAR, detail JSON)""",
    )


# A DuckDB file (the embedded store). Its tables keep the pinned compression for
# good; a store made before it was pinned keeps DuckDB's own choice per write.
STORE_DDL: tuple[str, ...] = _store_ddl(pin_compression=True)
# DuckLake writes Parquet and takes no USING COMPRESSION (analytics/lake.py).
LAKE_STORE_DDL: tuple[str, ...] = _store_ddl(pin_compression=False)

# The analytics SQL reads these names unqualified, through views in the
# process's in-memory catalog, so the same SQL runs on a file or on DuckLake.
STORE_TABLES: tuple[str, ...] = (
    "meta", "enrollments", "sessions", "import_log", "rejects", "interventions", "audit_log",
)

# One view per store table, so analytics SQL never names the attached catalog.
READ_VIEWS_DDL: tuple[str, ...] = (
    "CREATE OR REPLACE VIEW main.meta AS SELECT * FROM store.main.meta",
    "CREATE OR REPLACE VIEW main.enrollments AS SELECT * FROM store.main.enrollments",
    "CREATE OR REPLACE VIEW main.sessions AS SELECT * FROM store.main.sessions",
    "CREATE OR REPLACE VIEW main.import_log AS SELECT * FROM store.main.import_log",
    "CREATE OR REPLACE VIEW main.rejects AS SELECT * FROM store.main.rejects",
    "CREATE OR REPLACE VIEW main.interventions AS SELECT * FROM store.main.interventions",
    "CREATE OR REPLACE VIEW main.audit_log AS SELECT * FROM store.main.audit_log",
)

# On DuckLake (organisation mode, analytics/lake.py) imports append versions
# instead of upserting, so sessions and enrollments read through "latest wins"
# views: a version is hidden once store.superseded marks it replaced by a later
# batch. A version is named by (batch_id, source_line), unique because each file
# is its own batch: an anti-join on two integers against a small marker table
# costs little more than a plain scan (a string key made every query ~2x slower).
_LATEST_WINS = (
    "CREATE OR REPLACE VIEW main.{kind} AS SELECT t.* FROM store.main.{kind} AS t "
    "ANTI JOIN (SELECT batch_id, source_line FROM store.main.superseded WHERE kind = '{kind}') AS x "
    "ON x.batch_id = t.batch_id AND x.source_line = t.source_line"
)
LAKE_READ_VIEWS_DDL: tuple[str, ...] = tuple(
    _LATEST_WINS.format(kind=kind)
    if kind in ("sessions", "enrollments") else ddl
    for kind, ddl in zip(STORE_TABLES, READ_VIEWS_DDL)
)
# Readers (the lake attached read-only) anti-join against an in-memory copy of the
# markers instead: scanning the marker table in the lake costs every query extra
# catalog round trips. Each read pins one lake snapshot (lake.begin_read) and the
# copy keeps the markers per snapshot, so a read sees exactly that snapshot's markers.
# When the snapshot has no markers for a table (every lake after its first imports,
# and after `maintain` settles it), lake.begin_read leaves the kind out of the
# variable lake_superseded_kinds; DuckDB folds the variable while planning and keeps
# only the plain scan, which then reads no batch_id and source_line (at 1 M sessions
# a count(*) took 19 ms through the anti-join, 6 ms without). Unset, the anti-join is used.
_LATEST_WINS_PINNED = (
    "CREATE OR REPLACE VIEW main.{kind} AS "
    "SELECT t.* FROM store.main.{kind} AS t "
    "WHERE NOT coalesce(list_contains(getvariable('lake_superseded_kinds'), '{kind}'), true) "
    "UNION ALL "
    "SELECT t.* FROM store.main.{kind} AS t "
    "ANTI JOIN (SELECT batch_id, source_line FROM main.lake_superseded "
    "WHERE snapshot = getvariable('lake_snapshot') AND kind = '{kind}') AS x "
    "ON x.batch_id = t.batch_id AND x.source_line = t.source_line "
    "WHERE coalesce(list_contains(getvariable('lake_superseded_kinds'), '{kind}'), true)"
)
LAKE_PINNED_VIEWS_DDL: tuple[str, ...] = tuple(
    _LATEST_WINS_PINNED.format(kind=kind)
    if kind in ("sessions", "enrollments") else ddl
    for kind, ddl in zip(STORE_TABLES, READ_VIEWS_DDL)
)
