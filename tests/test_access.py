"""Roles, site scope and the access gate.

- The roles file gives each email a Scope, and fails closed (unknown user, bad file).
- A site lead's queries return only their sites, whatever the filters name: checked
  on the macros and on EVERY query in analytics/sql/, against a director who
  filters to the same sites (a second way to get the same answer).
- The gate (ui.auth.require_access) in AppTest: login prompt only when [auth] is
  configured and nobody is signed in; local mode only for sample data.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.privacy import roles as access
from analytics.metrics.breakdowns import PLACEHOLDER, with_dimension
from analytics.filters import Filters, Scope
from analytics.store import SQL_DIR, bind_filters, macros, sql_text, summaries
from analytics.store.schema import SESSION_TYPES
from analytics.store import open_store, set_meta
from conftest import add_enrollments, add_referrals, add_sessions, set_first_contacts
from tests.support import AUTH

def roles_toml(director: str, lead: str, lead_site: str) -> str:
    """A roles file with a director, a site lead of one site and an analyst@example.org."""
    return (f'[users."{director}"]\nrole = "director"\n\n'
            f'[users."{lead}"]\nrole = "site_lead"\nsites = ["{lead_site}"]\n\n'
            '[users."analyst@example.org"]\nrole = "analyst"\n')


ROLES_TOML = roles_toml("Director@Example.org", "north.lead@example.org", "North")

# -- the roles file -------------------------------------------------------------


def test_each_role_gets_its_scope():
    roles = access.parse_roles(__import__("tomllib").loads(ROLES_TOML))
    director = access.scope_for("director@example.org", roles)
    lead = access.scope_for("  NORTH.lead@example.org ", roles)
    analyst = access.scope_for("analyst@example.org", roles)
    assert (director.allowed_sites, director.suppressed_only, director.patient_level) == (None, False, True)
    assert director.role == "director" and access.may_view_audit(director)
    assert (lead.allowed_sites, lead.patient_level, lead.actor) == (("North",), True, "north.lead@example.org")
    assert not access.may_view_audit(lead)
    assert (analyst.allowed_sites, analyst.suppressed_only, analyst.patient_level) == (None, True, False)
    with pytest.raises(access.PatientLevelDenied):
        access.require_patient_level(analyst)
    access.require_patient_level(lead)


@pytest.mark.parametrize("email", [None, "", "stranger@example.org", "north.lead@example.org.evil"])
def test_unknown_user_sees_no_site(email):
    roles = access.parse_roles(__import__("tomllib").loads(ROLES_TOML))
    scope = access.scope_for(email, roles)
    assert scope.allowed_sites == () and not access.has_access(scope)
    assert not scope.patient_level and scope.suppressed_only and not access.may_view_audit(scope)


@pytest.mark.parametrize(
    "toml, problem",
    [
        ('[users."a@x.org"]\nrole = "admin"', "role must be one of"),
        ('[users."a@x.org"]\nrole = "site_lead"', "needs at least one site"),
        ('[users."a@x.org"]\nrole = "director"\nsites = ["North"]', "site_lead only"),
        ('[users."a@x.org"]\nrole = "site_lead"\nsites = "North"', "list of site names"),
        ('[users."a@x.org"]\nrole = "analyst"\nsite = ["North"]', "unknown key"),
        ('[users."a@x.org"]\nrole = "analyst"\n[users."A@x.org"]\nrole = "director"', "listed twice"),
    ],
)
def test_malformed_roles_are_refused(tmp_path, toml, problem):
    path = tmp_path / "roles.toml"
    path.write_text(toml)
    with pytest.raises(access.RolesError, match=problem):
        access.load_roles(path)


def test_roles_file_comes_from_env_and_a_missing_file_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "roles.toml"
    path.write_text(ROLES_TOML)
    monkeypatch.setenv("IOP_ROLES_FILE", str(path))
    assert access.roles_path() == path
    assert access.load_roles()["director@example.org"].role == "director"
    monkeypatch.setenv("IOP_ROLES_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(access.RolesError, match="no roles file"):
        access.load_roles()


def test_the_example_roles_file_is_valid():
    roles = access.load_roles(Path(access.REPO_ROOT) / "config" / "roles.example.toml")
    assert {g.role for g in roles.values()} == set(access.ROLES)


# -- site scope in SQL ------------------------------------------------------------

NORTH = access.Scope(allowed_sites=("North",), actor="north.lead@example.org", role="site_lead")
DIRECTOR = Scope(actor="director@example.org")


def fill_three_sites(store) -> None:
    """Three sites, two programs, extra columns, sessions of every type and status."""
    rows, sessions = [], []
    statuses = ("attended", "no_show", "patient_cancelled", "program_cancelled")
    for i in range(36):
        site = ("North", "South", "East")[i % 3]
        program = "Adult IOP" if i % 2 else "Adolescent IOP"
        reason = (None, "completed", "dropped_out", "transferred")[i % 4]
        month = 1 + i % 9
        discharge = f"2024-{month + 2:02d}-10" if reason else None
        rows.append((f"e{i}", f"p{i % 30}", site, program, f"2024-{month:02d}-{1 + i % 27:02d}",
                     discharge, reason, 8 + i % 5, {"payer": ("Medicaid", "Private")[i % 2]}))
        for k in range(6):
            status = statuses[(i + k) % 4]
            minutes = 180 if status == "attended" else 0
            sessions.append((f"s{i}-{k}", f"e{i}", f"2024-{month + 1:02d}-{1 + 3 * k:02d}",
                             SESSION_TYPES[(i + k) % 5], f"clin{(i + k) % 4}", 180, minutes, status))
    add_enrollments(store, rows)
    add_sessions(store, sessions)
    # scores: a PHQ-9 pair and three drug screens per episode, at admission and a few weeks on
    scores = []
    for i, (episode, *_rest) in enumerate(rows):
        admit = date.fromisoformat(_rest[3])
        for k, (days, instrument, score) in enumerate(((0, "phq9", 12 + i % 9), (28, "phq9", 4 + i % 13),
                                                       (0, "uds", i % 2), (7, "uds", 0), (14, "uds", (i + 1) % 2))):
            scores.append((f"a{i}-{k}", episode, admit + timedelta(days=days), instrument, score))
    with store.write() as cur:
        cur.executemany("INSERT INTO store.assessments VALUES (?, ?, ?, ?, ?, 0, ?)",
                        [(*row, n + 2) for n, row in enumerate(scores)])
    add_three_site_referrals(store)


def add_three_site_referrals(store) -> None:
    """Referrals at the three sites: one admitted per episode (e9 and e21 were asked for at
    another site than the one that admitted them), others of every outcome, a referral
    source on most; first contacts on two thirds of the enrollments."""
    outcomes = ("declined", "not_eligible", "no_show", "referred_elsewhere", "pending")
    rows, contacts = [], {}
    for i in range(36):
        month = 1 + i % 9
        site = ("North", "South", "East")[(i + (1 if i in (9, 21) else 0)) % 3]
        program = "Adult IOP" if i % 2 else "Adolescent IOP"
        admit = date(2024, month, 1 + i % 27)
        contact = admit - timedelta(days=2 + i % 11)
        source = {"referral_source": ("Self", "Court", "Primary care")[i % 3]} if i % 4 else {}
        rows.append((f"ra{i}", f"p{i % 30}", site, program, contact, contact + timedelta(days=1 + i % 3),
                     "admitted", f"e{i}", source))
        if i % 3:
            contacts[f"e{i}"] = (contact + timedelta(days=i % 2)).isoformat()
    for j in range(30):
        contact = date(2024, 1 + j % 9, 1 + (3 * j) % 28)
        rows.append((f"rn{j}", f"q{j}", ("North", "South", "East")[j % 3], "Adult IOP" if j % 2 else "Adolescent IOP",
                     contact, contact + timedelta(days=4) if j % 3 else None, outcomes[j % 5], None,
                     {"referral_source": ("Self", "Court")[j % 2]}))
    add_referrals(store, rows)
    set_first_contacts(store, contacts)


def test_site_lead_sees_only_their_site_whatever_the_filter_names(store):
    fill_three_sites(store)
    attempts = [Filters(), Filters(sites=("South",)), Filters(sites=("North", "South", "East"))]
    with store.read() as cur:
        for filters in attempts:
            bind_filters(cur, filters, NORTH)
            episodes = cur.execute("SELECT DISTINCT site FROM main.selected_episodes()").fetchall()
            sessions = cur.execute("SELECT DISTINCT site FROM main.selected_sessions()").fetchall()
            referrals = cur.execute("SELECT DISTINCT site FROM main.selected_referrals()").fetchall()
            intake = cur.execute("SELECT DISTINCT site FROM main.intake_episodes()").fetchall()
            assert set(episodes) <= {("North",)} and set(sessions) <= {("North",)}, filters
            assert set(referrals) <= {("North",)} and set(intake) <= {("North",)}, filters
        bind_filters(cur, Filters(), NORTH)
        assert cur.execute("SELECT count(*) FROM main.selected_episodes()").fetchone()[0] == 12
        bind_filters(cur, Filters(sites=("South",)), NORTH)
        assert cur.execute("SELECT count(*) FROM main.selected_sessions()").fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM main.selected_referrals()").fetchone()[0] == 0
        bind_filters(cur, Filters(), NORTH)
        # e9 was asked for at South and admitted at North: the referral is South's
        assert cur.execute("SELECT count(*) FROM main.selected_referrals() WHERE referral_id = 'ra9'").fetchone()[0] == 0
        # North's admitted requests (12 episodes less e9 and e21) and 10 of the others
        assert cur.execute("SELECT count(*) FROM main.selected_referrals()").fetchone()[0] == 10 + 10


# Sample values for the few queries that take parameters besides the filters. A new
# query with a new parameter must add one here, so that its scope is checked too.
QUERY_PARAMS = {
    "components": list(SESSION_TYPES),
    "target_programs": ["Adult IOP", "Adolescent IOP"],
    "target_hours": [9.0, 6.0],
    "completion_share": 0.9,
    "days": 30,
    "limit": 1000,
    "start": "2024-03-01", "end": "2024-06-30", "prev_start": "2023-11-01", "prev_end": "2024-02-29",
    "by_week": True,
    "unplanned": ["dropped_out", "terminated"],
    "grain": "month",
    "instruments": [
        {"instrument": "phq9", "higher_is_better": False, "caseness": 10, "reliable_change": 6, "remission_below": 5,
         "response_keep_num": 1, "response_keep_den": 2, "every_days": 14, "programs": []},
        {"instrument": "uds", "higher_is_better": False, "caseness": None, "reliable_change": None,
         "remission_below": None, "response_keep_num": None, "response_keep_den": None, "every_days": 7,
         "programs": ["Adult IOP"]},
    ],
    "min_score": 0, "width": 5,
    "screen_instrument": "uds",
    "batch": 1,
    "cutoff": "2024-01-01",
    "edges": [-100000, 0, 1, 4, 8, 15],
    "patients": True,
}
ALL_QUERIES = sorted(p.relative_to(SQL_DIR).with_suffix("").as_posix() for p in SQL_DIR.glob("*/*.sql"))
# Import-path queries validate a batch in its staging tables (ingest_*) inside the
# import transaction; nobody reads them through a page.
IMPORT_QUERIES = {q for q in ALL_QUERIES if re.search(r"\bingest_\w+", q + " " + sql_text(q))}
# What a batch changed reads every version of a kind's rows (history.define_versions makes
# history_versions): only directors who see every site reach it (analytics.ingest.batches,
# docs/security.md "History of changed rows"; tests/test_history.py checks the refusal).
HISTORY_QUERIES = {q for q in ALL_QUERIES if re.search(r"\bhistory_versions\b", sql_text(q))}
# Read the store as a whole on purpose (docs/security.md): one data cutoff for everybody, and
# whether a filtered column selects episodes does not depend on who asks (names only).
# DuckLake's episodes the session summaries do not hold yet (ids only): the read macros
# only ever take them together with the selected episodes; it reads lake-only tables.
WHOLE_STORE_QUERIES = ({"store/default_as_of", "store/enrollment_columns_held", "store/unsummarised_episodes"}
                       | IMPORT_QUERIES | HISTORY_QUERIES)


def _run(cur, name: str) -> pd.DataFrame:
    """Run one query file on its own: its breakdown placeholder set to a fixed
    dimension, its parameters from QUERY_PARAMS."""
    text = sql_text(name)
    if PLACEHOLDER in text:
        text = with_dimension(text, "site")
    params = {k: v for k, v in QUERY_PARAMS.items() if re.search(rf"\${k}\b", text)}
    for k, v in params.items():  # a parameter cast to a list type gets a one-element list
        if re.search(rf"\${k}::\w+(\(\d+(,\s*\d+)?\))?\[\]", text) and not isinstance(v, list):
            params[k] = [v]
    try:
        return cur.execute(text, params).df()
    except duckdb.InvalidInputException as exc:  # a message for the next query's author
        if "Values were not provided" not in str(exc):
            raise
        raise AssertionError(f"{name}.sql needs a sample parameter in QUERY_PARAMS: {exc}") from exc


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Same rows, in any order (some queries have no ORDER BY)."""
    def rows(df: pd.DataFrame) -> list[tuple]:
        return sorted(map(tuple, df.astype(str).to_numpy().tolist()))

    return list(a.columns) == list(b.columns) and rows(a) == rows(b)


@pytest.fixture(scope="module")
def three_sites(tmp_path_factory):
    """One embedded store with three sites for the query sweep (built once: it is only read)."""
    from analytics.store import Store

    s = Store(str(tmp_path_factory.mktemp("scope") / "three.duckdb"))
    fill_three_sites(s)
    with s.write() as cur:
        cur.execute("""INSERT INTO store.interventions VALUES
            (1, DATE '2024-03-01', 'South huddle', 'n', 'South', NULL, 'd', now()::TIMESTAMP),
            (2, DATE '2024-03-02', 'North huddle', 'n', 'North', NULL, 'd', now()::TIMESTAMP)""")
    yield s
    s.close()


def test_every_query_is_scoped(three_sites):
    """For every query in analytics/sql/: a site lead's result equals a director's filtered
    to the lead's site, whatever sites the lead names in the filter. Every query file
    is a whole query, so every one is run and compared."""
    compared = []
    with three_sites.read() as cur:
        for name in ALL_QUERIES:
            if name in WHOLE_STORE_QUERIES:
                continue
            bind_filters(cur, Filters(sites=("North",)), DIRECTOR)
            expected = _run(cur, name)
            bind_filters(cur, Filters(sites=("Nowhere",)), DIRECTOR)
            expected_empty = _run(cur, name)
            for named in [(), ("North", "South", "East")]:
                bind_filters(cur, Filters(sites=named), NORTH)
                assert _same(_run(cur, name), expected), (name, named)
            bind_filters(cur, Filters(sites=("South",)), NORTH)
            assert _same(_run(cur, name), expected_empty), name
            # the comparison can fail: unscoped, the answer differs
            bind_filters(cur, Filters(), DIRECTOR)
            everything = _run(cur, name)
            if not everything.empty:
                assert not _same(everything, expected), f"{name}: sample data does not tell sites apart"
            compared.append(name)
    assert compared == [q for q in ALL_QUERIES if q not in WHOLE_STORE_QUERIES]
    assert len(compared) >= 25, compared


MACRO_FILES = sorted(macros.MACRO_DIR.glob("*.sql"))
TABLE_MACRO = re.compile(r"CREATE OR REPLACE MACRO main\.(\w+)\([^)]*\) AS TABLE")


def test_queries_read_patient_tables_only_through_the_scoped_macros():
    """A query or macro file that reads enrollments, sessions or referrals directly must also be
    scoped: it starts from selected_episodes()/selected_sessions()/selected_referrals() or
    intake_episodes() (joining raw rows to them) or applies allowed_sites itself."""
    raw = re.compile(r"\b(from|join)\s+(main\.|store\.)?(enrollments|sessions|referrals)\b", re.IGNORECASE)
    scoped = re.compile(r"selected_(episodes|sessions|referrals)\(\)|intake_episodes\(\)|getvariable\('allowed_sites'\)")
    texts = {q: sql_text(q) for q in ALL_QUERIES if q not in WHOLE_STORE_QUERIES}
    texts |= {f"macro {p.stem}": p.read_text() for p in MACRO_FILES}
    offenders = [name for name, text in texts.items() if raw.search(text) and not scoped.search(text)]
    # What the session summaries hold, for the whole store: the importer builds them from
    # these. A read reaches them only through the read macros, which take the selected
    # episodes' rows only (checked here), or through intake_episodes(), which is scoped.
    summary_sources = ["macro attended_day_rows_through", "macro attended_week_rows_through",
                       "macro session_rows_through"]
    assert offenders == summary_sources
    for reader in ("session_counts", "attended_weeks"):
        assert "JOIN main.selected_episodes() AS e USING (episode_id)" in texts[f"macro {reader}"], reader
    callers = [name for name, text in texts.items() if "FROM main.attended_days()" in text]
    assert callers == ["macro intake_episodes"]
    assert len(MACRO_FILES) >= 10


def test_every_macro_is_defined_and_every_table_macro_is_run_by_the_scope_sweep():
    """The macro files are exactly the macros store.macros.define() creates, one per file
    and named after it; each table macro is called by some query file, or by a macro a
    query file calls, so test_every_query_is_scoped runs it under every scope."""
    assert sorted(p.stem for p in MACRO_FILES) == sorted(macros.MACROS)
    for path in MACRO_FILES:
        names = re.findall(r"CREATE OR REPLACE MACRO main\.(\w+)\(", path.read_text())
        assert names == [path.stem], path.name
    queries = "\n".join(sql_text(q) for q in ALL_QUERIES if q not in WHOLE_STORE_QUERIES)
    table_macros = [m for p in MACRO_FILES for m in TABLE_MACRO.findall(p.read_text())]
    assert len(table_macros) >= 8
    bodies = {p.stem: p.read_text().split(" AS TABLE", 1)[-1] for p in MACRO_FILES}
    run, text = set(), queries
    while True:  # the macros the queries call, then those these call, until no more
        called = {name for name in table_macros if re.search(rf"\bmain\.{name}\(", text)} - run
        if not called:
            break
        run |= called
        text = "\n".join(bodies[name] for name in called)
    # the summaries' build (summaries.py) calls these for the whole store; no read does
    # (tests/test_summaries.py compares the summaries with them)
    build_only = {name for name in table_macros if f"main.{name}(" in " ".join(summaries._FILL.values())}
    assert build_only == {"session_counts_through", "attended_weeks_through", "attended_days_through"}
    for name in table_macros:
        assert name in run or name in build_only, f"no query calls the table macro {name}, directly or through another"


# -- the gate in AppTest ----------------------------------------------------------

GATE_APP = """
import streamlit as st
from ui.auth import require_access
scope = require_access()
st.dataframe({"actor": [scope.actor], "role": [scope.role], "sites": [str(scope.allowed_sites)]})
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A store (sample contents) and a roles file, named by IOP_DB and IOP_ROLES_FILE."""
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES_TOML)
    monkeypatch.setenv("IOP_ROLES_FILE", str(roles))
    monkeypatch.setenv("IOP_DB", str(tmp_path / "gate.duckdb"))
    monkeypatch.delenv("IOP_ALLOW_ANONYMOUS", raising=False)
    store = open_store(str(tmp_path / "gate.duckdb"))
    with store.write() as cur:
        set_meta(cur, "contents", "sample")
    return store


def gate(secrets=None, user=None) -> AppTest:
    at = AppTest.from_string(GATE_APP, default_timeout=30)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    return at.run()


def shown(at: AppTest) -> dict | None:
    return at.dataframe[0].value.iloc[0].to_dict() if len(at.dataframe) else None


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("info", "warning", "error", "title") for e in getattr(at, kind)]
    return " | ".join(map(str, parts))


def audit_actions(store) -> list[tuple[str, str]]:
    with store.read() as cur:
        return cur.execute("SELECT actor, action FROM main.audit_log ORDER BY logged_at").fetchall()


def test_auth_configured_and_not_signed_in_shows_only_the_login_prompt(env):
    for user in ({"is_logged_in": False}, {"email": "director@example.org"}):  # no claim = not signed in
        at = gate(AUTH, user)
        assert not at.exception
        assert shown(at) is None and len(at.metric) == 0
        assert [b.label for b in at.button] == ["Log in"]
    assert audit_actions(env) == []


def test_signed_in_site_lead_gets_their_scope_and_one_login_audit_row(env):
    at = gate(AUTH, {"is_logged_in": True, "email": "North.Lead@example.org"})
    assert shown(at) == {"actor": "north.lead@example.org", "role": "site_lead", "sites": "('North',)"}
    at.run()
    at.run()
    assert audit_actions(env) == [("north.lead@example.org", "login")]


@pytest.mark.parametrize(
    "user",
    [
        {"is_logged_in": True, "email": "stranger@example.org"},
        {"is_logged_in": True},
        {"is_logged_in": True, "email": "director@example.org", "email_verified": False},
    ],
)
def test_signed_in_without_a_grant_sees_nothing(env, user):
    at = gate(AUTH, user)
    assert shown(at) is None
    assert "no access" in texts(at) or "not verified" in texts(at)


def test_missing_roles_file_denies_everyone(env, monkeypatch, tmp_path):
    monkeypatch.setenv("IOP_ROLES_FILE", str(tmp_path / "nope.toml"))
    at = gate(AUTH, {"is_logged_in": True, "email": "director@example.org"})
    assert shown(at) is None and "not configured" in texts(at)


def test_local_mode_shows_sample_data_with_a_banner_and_ignores_claimed_users(env):
    at = gate(user={"is_logged_in": True, "email": "director@example.org"})
    assert shown(at) == {"actor": "local", "role": "director", "sites": "None"}
    assert "Local mode: no login; showing synthetic sample data" in texts(at)


@pytest.mark.parametrize("contents", ["imported", None])
def test_local_mode_refuses_imported_data_unless_opted_in(env, monkeypatch, contents):
    with env.write() as cur:
        cur.execute("DELETE FROM store.meta")
        if contents:
            set_meta(cur, "contents", contents)
    at = gate()
    assert shown(at) is None and "IOP_ALLOW_ANONYMOUS=1" in texts(at)
    monkeypatch.setenv("IOP_ALLOW_ANONYMOUS", "1")
    at = gate()
    assert shown(at)["actor"] == "anonymous"
    assert "IOP_ALLOW_ANONYMOUS=1 is set" in texts(at)
    assert audit_actions(env) == [("anonymous", "login")]


PSEUDONYM_APP = """
import streamlit as st
from ui.auth import pseudonym_key
key = pseudonym_key()
st.text(repr(key))
"""


def test_pseudonym_key_comes_from_secrets():
    at = AppTest.from_string(PSEUDONYM_APP, default_timeout=30)
    at.secrets["pseudonymisation"] = {"key": "k" * 40}
    assert at.run().text[0].value == repr(b"k" * 40)
    at = AppTest.from_string(PSEUDONYM_APP, default_timeout=30)
    at.secrets["pseudonymisation"] = {"key": "short"}
    assert at.run().exception  # a guessable key is refused, never used
