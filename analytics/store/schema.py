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
    # every method on every column as it writes, and building a dictionary of millions
    # of unique session ids costs seconds of CPU only to choose FSST. These are the methods
    # it chose by itself for the generator's exports, so the file is no larger.
    compression: str | None = None


# Who the row is about and where they were seen: the same three columns in enrollments and referrals.
PATIENT_SITE_PROGRAM: tuple[Column, ...] = (
    Column("patient_id", "VARCHAR", True, free_text=True, compression="fsst"),
    Column("site", "VARCHAR", True, compression="dictionary"),
    Column("program", "VARCHAR", True, compression="dictionary"),
)
ENROLLMENT_COLUMNS: tuple[Column, ...] = (
    Column("episode_id", "VARCHAR", True, compression="fsst"),
    *PATIENT_SITE_PROGRAM,
    Column("admit_date", "DATE", True),
    Column("discharge_date", "DATE", False),
    Column("discharge_reason", "VARCHAR", False, compression="dictionary"),
    Column("planned_weeks", "INTEGER", False),
    # the request for service (call, walk-in or referral received); never after admit_date
    Column("first_contact_date", "DATE", False),
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

ASSESSMENT_COLUMNS: tuple[Column, ...] = (
    Column("assessment_id", "VARCHAR", True, compression="fsst"),
    Column("episode_id", "VARCHAR", True, compression="dictionary"),
    Column("assessment_date", "DATE", True),
    Column("instrument", "VARCHAR", True, compression="dictionary"),
    Column("score", "INTEGER", True),
)
REFERRAL_OUTCOMES: tuple[str, ...] = (
    "admitted", "declined", "not_eligible", "no_show", "referred_elsewhere", "pending",
)
REFERRAL_COLUMNS: tuple[Column, ...] = (
    Column("referral_id", "VARCHAR", True, compression="fsst"),
    *PATIENT_SITE_PROGRAM,
    Column("first_contact_date", "DATE", True),
    Column("intake_assessment_date", "DATE", False),
    Column("outcome", "VARCHAR", True, compression="dictionary"),
    Column("episode_id", "VARCHAR", False, compression="fsst"),
)


@dataclass(frozen=True)
class Kind:
    """One kind of export, its store table, and how an import treats it.

    Adding a kind is one entry in KINDS below plus two SQL files:
    sql/ingest/ingest_<name>_rows.sql (pass 1: each row's checks and casts) and
    sql/ingest/dq_<name>_across_rows.sql (pass 2: checks across rows and
    against the store). The store table, its DuckLake views and partitions, the
    import's kind detection, order, extra columns and pseudonyms follow from here.
    A kind that names a fhir_resource also reads FHIR Bulk Data ndjson, through
    sql/ingest/ingest_<name>_fhir_rows.sql, ingest_<name>_fhir_episodes.sql and
    dq_<name>_fhir_across_rows.sql (analytics/ingest/fhir.py).

    >>> KINDS["sessions"].stored_columns[:2]
    ('session_id', 'episode_id')
    """
    name: str  # also the store table's name
    columns: tuple[Column, ...]
    id_column: str  # one stored row per id; a later import of an id replaces it
    # Canonical headers (after the profile's mapping) that together identify an export of this kind.
    detected_by: tuple[str, ...]
    # Detected only when no other kind is: its headers also appear in other kinds'
    # exports (a sessions export carries episode_id, and may carry admit_date).
    detected_last: bool = False
    after: tuple[str, ...] = ()  # kinds applied before it in one command: its rows are checked against theirs
    keeps_extra: bool = False  # further columns of the export are kept in an `extra` MAP
    labels: tuple[str, ...] = ()  # the profile label maps its row checks bind ($<label>_keys, $<label>_values)
    patient_column: str | None = None  # replaced by a keyed pseudonym when an import pseudonymises
    partitioned_by: str | None = None  # the date column whose month splits its DuckLake data files
    # The FHIR R4 resource type whose Bulk Data ndjson this kind also reads (analytics/ingest/fhir.py).
    fhir_resource: str | None = None

    @property
    def stored_columns(self) -> tuple[str, ...]:
        """The columns an import writes, before batch_id and source_line."""
        return tuple(c.name for c in self.columns) + (("extra",) if self.keeps_extra else ())

    @property
    def has_free_text(self) -> bool:
        """Whether a raw line of its exports may hold a patient id or free text (masked in rejects)."""
        return any(c.free_text for c in self.columns)


# Declaration order is the store's table order; APPLY_ORDER follows `after`.
KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("enrollments", ENROLLMENT_COLUMNS, id_column="episode_id",
         detected_by=("episode_id", "admit_date"), detected_last=True, keeps_extra=True,
         labels=("discharge_reason",), patient_column="patient_id", partitioned_by="admit_date"),
    Kind("sessions", SESSION_COLUMNS, id_column="session_id", detected_by=("session_id",),
         after=("enrollments",), labels=("status", "session_type"), partitioned_by="session_date"),
    Kind("assessments", ASSESSMENT_COLUMNS, id_column="assessment_id", detected_by=("assessment_id",),
         after=("enrollments",), labels=("instrument",), partitioned_by="assessment_date",
         fhir_resource="Observation"),
    Kind("referrals", REFERRAL_COLUMNS, id_column="referral_id", detected_by=("referral_id",),
         after=("enrollments",), keeps_extra=True, labels=("outcome",), patient_column="patient_id",
         partitioned_by="first_contact_date"),
)}


def _apply_order(kinds: dict[str, Kind]) -> tuple[str, ...]:
    """Kinds in the order one command applies them: each after those it names, else as declared."""
    order: list[str] = []
    while len(order) < len(kinds):
        ready = [k for k in kinds.values() if k.name not in order and set(k.after) <= set(order)]
        if not ready:
            raise ValueError("KINDS: `after` names an unknown kind or makes a cycle")
        order.append(ready[0].name)
    return tuple(order)


APPLY_ORDER: tuple[str, ...] = _apply_order(KINDS)


def references_to(kind: str) -> tuple[tuple[str, str], ...]:
    """(kind, column) of every kind whose rows name a row of `kind` by its id.

    A kind applied after another (`after`) and holding that kind's id column refers
    to it: sessions, assessments and referrals name an enrollment by episode_id.
    Undoing the import that inserted an episode must not leave them pointing nowhere.
    >>> references_to("enrollments")[0]
    ('sessions', 'episode_id')
    """
    target = KINDS[kind].id_column
    return tuple(
        (other.name, target) for other in KINDS.values()
        if kind in other.after and target in {c.name for c in other.columns}
    )

# Store tables. Written with the `store.` catalog prefix because the process
# connection is in-memory and the store is ATTACHed under that name (see base.py).
# No PRIMARY KEY constraints: DuckLake has none, so uniqueness is the importer's job.
def _data_table_ddl(kind: str, pin_compression: bool) -> str:
    """CREATE TABLE for a kind's table, from its declaration above.

    >>> _data_table_ddl("sessions", True)[:86]
    'CREATE TABLE IF NOT EXISTS store.sessions (session_id VARCHAR USING COMPRESSION fsst, '
    """
    columns = [
        f"{c.name} {c.type}" + (f" USING COMPRESSION {c.compression}" if pin_compression and c.compression else "")
        for c in KINDS[kind].columns
    ]
    if KINDS[kind].keeps_extra:
        columns.append("extra MAP(VARCHAR, VARCHAR)")  # the export's further columns
    columns += ["batch_id BIGINT", "source_line BIGINT"]  # which import, which line
    return f"CREATE TABLE IF NOT EXISTS store.{kind} (" + ", ".join(columns) + ")"


# The embedded store's history: every version of a row that an import replaced or
# removed, with the batch that did it (replaced_by), so a batch's changes can be
# listed and undone. A DuckLake keeps replaced versions in the kind's own table
# instead (lake.py), so only the embedded file has these tables.
HISTORY_SUFFIX = "_history"


def history_table(kind: str) -> str:
    """The name of a kind's history table on the embedded store.

    >>> history_table("sessions")
    'sessions_history'
    """
    return KINDS[kind].name + HISTORY_SUFFIX


def _history_table_ddl(kind: str) -> str:
    base = _data_table_ddl(kind, pin_compression=True)
    return (base.replace(f"store.{kind} (", f"store.{history_table(kind)} (", 1)[:-1]
            + ", replaced_by BIGINT)")  # the batch that replaced or removed this version


# The measurement instruments in force (config/instruments.toml, written by each import),
# so every importer and replica of an organisation reads the same definitions.
INSTRUMENTS_DDL = """CREATE TABLE IF NOT EXISTS store.instruments (
            instrument VARCHAR, label VARCHAR, min_score INTEGER, max_score INTEGER,
            higher_is_better BOOLEAN, caseness INTEGER, reliable_change INTEGER,
            remission_below INTEGER, response_drop DOUBLE, every_days INTEGER, programs VARCHAR[],
            codes STRUCT(system VARCHAR, code VARCHAR)[], batch_id BIGINT)"""


# Summaries of the sessions, a few rows per episode, which the page queries read
# instead of the sessions when they hold exactly the view (summaries.py). The
# embedded store keeps them up to date in every write's own transaction; DuckLake
# counts them in `maintain`, and its reads count what later imports touched from the
# sessions.
SUMMARY_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS store.episode_session_counts (
            episode_id VARCHAR, session_type VARCHAR, status VARCHAR, sessions BIGINT, completed BIGINT,
            scheduled_minutes BIGINT, attended_minutes BIGINT, first_date DATE, last_date DATE)""",
    """CREATE TABLE IF NOT EXISTS store.episode_attended_weeks (
            episode_id VARCHAR, week_number INTEGER, session_type VARCHAR, sessions BIGINT,
            attended_minutes BIGINT)""",
    """CREATE TABLE IF NOT EXISTS store.episode_attended_days (
            episode_id VARCHAR, word BIGINT, days UBIGINT, first_day DATE)""",
)
SUMMARY_TABLES: tuple[str, ...] = ("episode_session_counts", "episode_attended_weeks", "episode_attended_days")


def _store_ddl(pin_compression: bool, history: bool) -> tuple[str, ...]:
    return (
        """CREATE TABLE IF NOT EXISTS store.meta (key VARCHAR, value VARCHAR)""",
        # one row per schema version the store was brought to (analytics/store/versions.py)
        """CREATE TABLE IF NOT EXISTS store.schema_versions (
            version INTEGER, applied_at TIMESTAMP, summary VARCHAR)""",
        *(_data_table_ddl(kind, pin_compression) for kind in KINDS),
        INSTRUMENTS_DDL,
        """CREATE TABLE IF NOT EXISTS store.import_log (
            batch_id BIGINT, file VARCHAR, sha256 VARCHAR, kind VARCHAR, profile VARCHAR,
            started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, message VARCHAR,
            rows BIGINT, inserted BIGINT, updated BIGINT, unchanged BIGINT, rejected BIGINT,
            actor VARCHAR, deleted BIGINT, undoes BIGINT)""",
        """CREATE TABLE IF NOT EXISTS store.rejects (
            batch_id BIGINT, file VARCHAR, kind VARCHAR, line BIGINT, record_id VARCHAR,
            problems STRUCT("column" VARCHAR, raw_value VARCHAR, reason VARCHAR)[])""",
        """CREATE TABLE IF NOT EXISTS store.interventions (
            intervention_id BIGINT, on_date DATE, title VARCHAR, note VARCHAR,
            site VARCHAR, program VARCHAR, recorded_by VARCHAR, recorded_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS store.audit_log (
            logged_at TIMESTAMP, actor VARCHAR, action VARCHAR, detail JSON)""",
        *((_history_table_ddl(kind) for kind in KINDS) if history else ()),
        *SUMMARY_DDL,
    )


# A DuckDB file (the embedded store). Its tables keep the pinned compression for
# good; a store made before it was pinned keeps DuckDB's own choice per write.
STORE_DDL: tuple[str, ...] = _store_ddl(pin_compression=True, history=True)
# DuckLake writes Parquet and takes no USING COMPRESSION (lake.py).
LAKE_STORE_DDL: tuple[str, ...] = _store_ddl(pin_compression=False, history=False)

# The analytics SQL reads these names unqualified, through views in the
# process's in-memory catalog, so the same SQL runs on a file or on DuckLake.
STORE_TABLES: tuple[str, ...] = (
    "meta", "schema_versions", *KINDS, "instruments", "import_log", "rejects", "interventions", "audit_log",
    *SUMMARY_TABLES,
)


def declared_columns(ddl: tuple[str, ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    """{table: ((column, type), ...)} of the tables the DDL makes, read back from DuckDB itself.

    >>> declared_columns(STORE_DDL)["meta"]
    (('key', 'VARCHAR'), ('value', 'VARCHAR'))
    """
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ':memory:' AS store")
        for statement in ddl:
            con.execute(statement)
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = 'store' "
            "ORDER BY table_name, column_index").fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_ in rows:
        out.setdefault(table, []).append((column, type_))
    return {t: tuple(c) for t, c in out.items()}


def table_ddl(table: str, pin_compression: bool) -> str:
    """The CREATE TABLE statement of one store table (a migration creates tables one by one)."""
    ddl = STORE_DDL if pin_compression else LAKE_STORE_DDL
    return next(d for d in ddl if d.split("(", 1)[0].split()[-1] == f"store.{table}")

# One view per store table, so analytics SQL never names the attached catalog.
READ_VIEWS_DDL: tuple[str, ...] = tuple(
    f"CREATE OR REPLACE VIEW main.{table} AS SELECT * FROM store.main.{table}" for table in STORE_TABLES
)

# On DuckLake (organisation mode, lake.py) imports append versions
# instead of upserting, so the kinds' tables read through "latest wins"
# views: a version is hidden once store.superseded marks it replaced by a later
# batch. A version is named by (batch_id, source_line), unique because each file
# is its own batch: an anti-join on two integers against a small marker table
# costs little more than a plain scan (a string key made every query ~2x slower).
_LATEST_WINS = (
    "CREATE OR REPLACE VIEW main.{kind} AS SELECT t.* FROM store.main.{kind} AS t "
    "ANTI JOIN (SELECT batch_id, source_line FROM store.main.superseded WHERE kind = '{kind}') AS x "
    "ON x.batch_id = t.batch_id AND x.source_line = t.source_line"
)


def _kinds_read_through(view: str) -> tuple[str, ...]:
    """READ_VIEWS_DDL with each kind's view replaced by `view` (a template on {kind})."""
    return tuple(view.format(kind=kind) if kind in KINDS else ddl for kind, ddl in zip(STORE_TABLES, READ_VIEWS_DDL))


LAKE_READ_VIEWS_DDL: tuple[str, ...] = _kinds_read_through(_LATEST_WINS)
# Readers (the lake attached read-only) anti-join against an in-memory copy of the
# markers instead: scanning the marker table in the lake costs every query extra
# catalog round trips. Each read pins one lake snapshot (lake.begin_read) and the
# copy keeps the markers per snapshot, so a read sees exactly that snapshot's markers.
# When the snapshot has no markers for a table (every lake after its first imports,
# and after `maintain` settles it), lake.begin_read leaves the kind out of the
# variable lake_superseded_kinds; DuckDB folds the variable while planning and keeps
# only the plain scan, which then reads no batch_id and source_line (a count(*) is
# about three times faster without the anti-join). Unset, the anti-join is used.
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
LAKE_PINNED_VIEWS_DDL: tuple[str, ...] = _kinds_read_through(_LATEST_WINS_PINNED)
