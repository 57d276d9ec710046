"""Who may see what: the roles file and the Scope each user gets from it.

The roles file (TOML, path from IOP_ROLES_FILE, else config/roles.toml) maps a
user's email to a role and, for site leads, to the sites they run:

    [users."dana@example.org"]
    role = "director"                 # every site, patient-level rows, the audit log

    [users."sam@example.org"]
    role = "site_lead"
    sites = ["North"]                 # only these sites, in every query

    [users."ana@example.org"]
    role = "analyst"                  # every site, suppressed figures only, no patient rows

Why it fails closed: an unknown email, a missing file, or a user whose claims
cannot be trusted gets NO_ACCESS, a Scope whose site list is empty, so even a
page that forgot to stop still selects no episode (selected_episodes() applies
allowed_sites in SQL).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from analytics.config import REPO_ROOT
from analytics.filters import Scope

DEFAULT_ROLES_FILE = REPO_ROOT / "config" / "roles.toml"

ROLES: tuple[str, ...] = ("director", "site_lead", "analyst")

# An empty site list selects nothing: the scope of someone with no access.
NO_ACCESS = Scope(allowed_sites=(), suppressed_only=True, patient_level=False, actor="", role="none")


class RolesError(ValueError):
    """The roles file is missing or malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Grant:
    """One user's entry in the roles file."""

    role: str
    sites: tuple[str, ...] = ()


def roles_path() -> Path:
    """The roles file in force: IOP_ROLES_FILE, else config/roles.toml."""
    return Path(os.environ.get("IOP_ROLES_FILE") or DEFAULT_ROLES_FILE)


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def parse_roles(data: Mapping, source: str = "roles file") -> dict[str, Grant]:
    """Validate a parsed roles document; returns {normalised email: Grant}.

    >>> parse_roles({"users": {"Sam@Example.org": {"role": "site_lead", "sites": ["North"]}}})
    {'sam@example.org': Grant(role='site_lead', sites=('North',))}
    """
    users = data.get("users", {})
    if not isinstance(users, Mapping):
        raise RolesError(f"{source}: [users] must be a table of emails")
    grants: dict[str, Grant] = {}
    for email, entry in users.items():
        where = f"{source}: users.{email!r}"
        if not isinstance(entry, Mapping):
            raise RolesError(f"{where} must be a table with a role")
        unknown = set(entry) - {"role", "sites"}
        if unknown:
            raise RolesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        role = entry.get("role")
        if role not in ROLES:
            raise RolesError(f"{where}: role must be one of {', '.join(ROLES)}")
        sites = entry.get("sites", [])
        if not isinstance(sites, list) or not all(isinstance(s, str) and s for s in sites):
            raise RolesError(f"{where}: sites must be a list of site names")
        if role == "site_lead" and not sites:
            raise RolesError(f"{where}: a site_lead needs at least one site")
        if role != "site_lead" and sites:
            raise RolesError(f"{where}: sites apply to site_lead only ({role} sees every site)")
        key = normalise_email(str(email))
        if key in grants:
            raise RolesError(f"{where}: listed twice")
        grants[key] = Grant(role=role, sites=tuple(sites))
    return grants


def load_roles(path: Path | str | None = None) -> dict[str, Grant]:
    """Read and validate the roles file; RolesError when it is missing or malformed."""
    path = Path(path) if path is not None else roles_path()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise RolesError(f"no roles file at {path} (see config/roles.example.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise RolesError(f"{path}: not valid TOML ({exc})") from None
    return parse_roles(data, str(path))


def scope_for(email: str | None, roles: Mapping[str, Grant]) -> Scope:
    """The Scope of a signed-in user; NO_ACCESS for an unknown or missing email.

    >>> scope_for("sam@example.org", {"sam@example.org": Grant("site_lead", ("North",))}).allowed_sites
    ('North',)
    """
    if not email or not isinstance(email, str):
        return NO_ACCESS
    key = normalise_email(email)
    grant = roles.get(key)
    if grant is None:
        return Scope(allowed_sites=(), suppressed_only=True, patient_level=False, actor=key, role="none")
    if grant.role == "director":
        return Scope(allowed_sites=None, actor=key, role="director")
    if grant.role == "site_lead":
        return Scope(allowed_sites=grant.sites, actor=key, role="site_lead")
    # analyst: every site, but only what small-cell suppression lets through
    return Scope(allowed_sites=None, suppressed_only=True, patient_level=False, actor=key, role="analyst")


def has_access(scope: Scope) -> bool:
    """False for a Scope that selects no site at all (unknown user)."""
    return scope.allowed_sites is None or len(scope.allowed_sites) > 0


def may_view_audit(scope: Scope) -> bool:
    """Only directors read the audit log (it names every user and what they did)."""
    return scope.role == "director"


class PatientLevelDenied(PermissionError):
    """Raised when a scope without patient-level rights asks for patient-level rows."""


def require_patient_level(scope: Scope) -> None:
    """Raise PatientLevelDenied unless the scope may see patient-level rows (at-risk list)."""
    if not scope.patient_level or not has_access(scope):
        raise PatientLevelDenied("This role sees aggregate figures only, not patient-level rows.")
