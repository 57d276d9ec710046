"""The access gate every page passes first (ui.context.page_context() calls it).

Two modes:
- Login: when `[auth]` is configured in .streamlit/secrets.toml, a visitor who
  is not signed in through st.login (OpenID Connect) sees only a login prompt.
  A signed-in user gets the Scope the roles file gives their email
  (analytics.privacy.roles); an unknown email sees a "no access" notice.
- Local: without `[auth]`, anyone who reaches the port sees data, so this is
  allowed only for the bundled synthetic sample. A store holding imported data
  is refused unless IOP_ALLOW_ANONYMOUS=1 opts in, which the banner then says.

The site restriction itself is applied in SQL (selected_episodes() reads
Scope.allowed_sites); this module only decides which Scope a visitor has.
Call require_access() once per run, before any data is read.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Callable

import streamlit as st

from analytics.privacy import roles as access
from analytics.privacy import audit
from analytics.privacy import exports
from analytics.filters import Scope
from analytics.store import CatalogUnreachable, StoreDamaged, StoreError, get_meta, open_store

LOG = logging.getLogger(__name__)

ALLOW_ANONYMOUS_ENV = "IOP_ALLOW_ANONYMOUS"
LOCAL_BANNER = "Local mode: no login; showing synthetic sample data"
ANONYMOUS_BANNER = (
    "Local mode: no login. This store holds imported data and is shown without login "
    "because IOP_ALLOW_ANONYMOUS=1 is set."
)
_AUDIT_DONE_KEY = "_iop_audit_done"


class AccessConfigError(RuntimeError):
    """Access is configured in a way the gate cannot trust (message fit to show)."""


# -- configuration ------------------------------------------------------------
def _secrets_files_present() -> bool:
    paths = st.get_option("secrets.files") or []
    return any(os.path.exists(p) for p in paths)


def auth_configured() -> bool:
    """True when st.secrets holds an [auth] section (OIDC login is then required).

    A secrets file that exists but cannot be read raises AccessConfigError rather
    than falling back to local mode.
    """
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # StreamlitSecretNotFoundError: none found, or unreadable
        if _secrets_files_present():
            raise AccessConfigError(
                "The secrets file could not be read; fix .streamlit/secrets.toml."
            ) from None
        return False


def anonymous_allowed() -> bool:
    """The operator's explicit opt-in to show imported data without login."""
    return os.environ.get(ALLOW_ANONYMOUS_ENV) == "1"


def pseudonym_key() -> bytes | None:
    """The key for pseudonymising patient ids on import (st.secrets["pseudonymisation"]["key"]).

    None when no key is configured. A key shorter than 32 characters is refused:
    patient ids are easy to guess, so only a long secret key keeps hashes from
    being reversed by trying every id.
    """
    try:
        section = st.secrets["pseudonymisation"]
    except (KeyError, FileNotFoundError):
        return None
    key = section.get("key") if hasattr(section, "get") else None
    if not key:
        return None
    if len(str(key)) < 32:
        raise AccessConfigError("The pseudonymisation key must be at least 32 characters long.")
    return str(key).encode("utf-8")


# -- who is asking ------------------------------------------------------------
def _user_email() -> str | None:
    email = st.user.get("email")
    return access.normalise_email(email) if isinstance(email, str) and email.strip() else None


def current_actor() -> str:
    """Who the audit log names: the signed-in email; without login "anonymous" when
    IOP_ALLOW_ANONYMOUS=1 is set, else "local" (sample data only)."""
    if auth_configured():
        return (_user_email() or "unknown") if st.user.get("is_logged_in") is True else "unknown"
    return "anonymous" if anonymous_allowed() else "local"


def _store_contents() -> str | None:
    """The store's meta 'contents' ('sample' or 'imported'); 'empty' when no store exists yet."""
    try:
        with open_store().read() as cur:
            return get_meta(cur, "contents")
    except (StoreDamaged, CatalogUnreachable) as exc:
        # Not "no store yet": the store holds data that cannot be read now. Its sentence, alone.
        st.error(str(exc))
        st.stop()
    except StoreError:
        return "empty"


# -- audit ------------------------------------------------------------------
def audit_once(action: str, detail: dict, key: str | None = None) -> None:
    """Write one audit row for this session and key (default: action + detail).

    Pages call it for views of the at-risk list or any patient-level table:
    >>> audit_once("view_patient_level", {"table": "at_risk", "filters": filters.describe()})
    Call it outside any `store.read()` block (it takes the store's write lock).
    """
    key = key or action + ":" + json.dumps(detail, default=str, sort_keys=True)
    done = st.session_state.setdefault(_AUDIT_DONE_KEY, set())
    if key in done:
        return
    with open_store().write() as cur:
        audit.record(cur, current_actor(), action, detail)
    done.add(key)


def audited_download_button(
    label: str,
    make_bytes: Callable[[], bytes],
    *,
    file_name: str,
    detail: dict,
    mime: str = "text/csv",
    action: str = "export",
    key: str | None = None,
) -> None:
    """A download button whose file is built on click, with an audit row for each download.

    make_bytes returns the file (e.g. lambda: exports.export_table(df, spec)); the
    audit row records who, when and `detail` (which table, which filters).
    """
    store, actor = open_store(), current_actor()
    st.download_button(
        label,
        data=lambda: exports.audited(store, actor, action, detail, make_bytes),
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
    )


# -- the gate ---------------------------------------------------------------
def _providers() -> list[str | None]:
    """None for a single provider configured in [auth] itself, else the [auth.NAME] names."""
    section = st.secrets["auth"]
    if "client_id" in section or "server_metadata_url" in section:
        return [None]
    return sorted(name for name, value in section.items() if hasattr(value, "keys"))


def _login_prompt() -> None:
    st.title("IOP outcomes dashboard")
    st.info("Please log in to see the dashboard. It holds treatment data protected by 42 CFR Part 2.")
    for provider in _providers():
        label = "Log in" if provider is None else f"Log in with {provider}"
        if st.button(label, key=f"iop_login_{provider or 'default'}", type="primary"):
            st.login(provider) if provider else st.login()


def _deny(message: str) -> None:
    st.error(message)
    if st.user.get("is_logged_in") is True:
        st.button("Log out", key="iop_logout_denied", on_click=st.logout)
    st.stop()


def _deny_unaudited(failure: StoreError) -> None:
    # Every visit is audited before data is shown. The store's own sentence says why it
    # cannot be written and what to do (only a lock is worth trying again); a damaged or
    # unreachable store shows nothing anyway, so its sentence is said alone, as on every page.
    if isinstance(failure, (StoreDamaged, CatalogUnreachable)):
        _deny(str(failure))
    _deny(f"No data is shown, because this visit cannot be recorded in the audit log. {failure}")


def _signed_in_scope() -> Scope:
    if st.user.get("is_logged_in") is not True:
        _login_prompt()
        st.stop()
    if st.user.get("email_verified") is False:
        _deny("Your identity provider has not verified your email address, so access cannot be granted.")
    try:
        roles = access.load_roles()
    except access.RolesError as exc:
        LOG.error("roles file problem: %s", exc)
        _deny("Access is not configured yet (no valid roles file). Ask your administrator.")
    scope = access.scope_for(_user_email(), roles)
    if not access.has_access(scope):
        _deny(
            "You are signed in, but your account has no access to this dashboard. "
            "Ask a clinical director to add you to the roles file."
        )
    try:
        audit_once("login", {"role": scope.role, "sites": scope.allowed_sites}, key="login:" + scope.actor)
    except StoreError as exc:
        _deny_unaudited(exc)
    return scope


def _local_scope() -> Scope:
    contents = _store_contents()
    if contents in ("sample", "empty"):
        st.info(LOCAL_BANNER)
        return Scope.everything(current_actor())
    # 'imported', or anything unrecognised: treat as real patient data.
    if not anonymous_allowed():
        st.error(
            "This store holds imported data, and login is not configured. Configure [auth] in "
            ".streamlit/secrets.toml (see docs/security.md), or set IOP_ALLOW_ANONYMOUS=1 "
            "to accept showing it without login."
        )
        st.stop()
    st.warning(ANONYMOUS_BANNER)
    try:
        audit_once("login", {"mode": "anonymous"}, key="login:anonymous")
    except StoreError as exc:
        _deny_unaudited(exc)
    return Scope.everything(current_actor())


def require_access() -> Scope:
    """Stop the page with a login prompt unless the visitor may see data; return their Scope."""
    try:
        configured = auth_configured()
    except AccessConfigError as exc:
        st.error(str(exc))
        st.stop()
    return _signed_in_scope() if configured else _local_scope()


def render_identity(scope: Scope) -> None:
    """Sidebar: who is signed in, their role and sites, and a logout button (call once per run)."""
    if not auth_configured():
        return
    sites = "all sites" if scope.allowed_sites is None else ", ".join(scope.allowed_sites)
    # st.text, not markdown: site names come from imported files.
    st.sidebar.text(f"Signed in as {scope.actor}\n{scope.role.replace('_', ' ')}: {sites}")
    st.sidebar.button("Log out", key="iop_logout", on_click=st.logout)
