"""Filter sets and access scope: which episodes a question is about, and who asks.

Both are frozen dataclasses so they hash (cache keys) and cannot be changed
behind a page's back. They reach SQL only as bound values (see queries.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Filters:
    """Selects episodes; a session counts when its episode is selected. Referrals are
    selected by their own site, program, extra columns and first contact date (the
    admission dates bound it).

    >>> Filters(sites=("North",), extra=(("payer", "Medicaid"),))
    """

    admitted_from: date | None = None
    admitted_to: date | None = None
    sites: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    # (column, value) pairs on extra columns: AND across columns, OR within one. Episodes
    # match on their enrollment's columns, referrals on their own.
    extra: tuple[tuple[str, str], ...] = ()
    as_of: date | None = None  # None: the store's default cutoff

    def describe(self) -> list[tuple[str, str]]:
        """Human-readable (label, value) pairs, for reports and exports."""
        out = [
            ("Admitted from", str(self.admitted_from) if self.admitted_from else "any"),
            ("Admitted to", str(self.admitted_to) if self.admitted_to else "any"),
            ("Sites", ", ".join(self.sites) or "all"),
            ("Programs", ", ".join(self.programs) or "all"),
        ]
        out += [(col, val) for col, val in self.extra]
        return out


@dataclass(frozen=True)
class Scope:
    """Who is asking. Enforced inside every query, not by hiding widgets.

    allowed_sites None means every site (director, analyst, local mode).
    """

    allowed_sites: tuple[str, ...] | None = None
    suppressed_only: bool = False  # analysts see suppressed figures only
    patient_level: bool = True  # may see patient-level rows (at-risk list)
    actor: str = "local"
    # director | site_lead | analyst | none (no access); local mode acts as director
    role: str = "director"

    @staticmethod
    def everything(actor: str = "local") -> "Scope":
        return Scope(actor=actor)


EVERYTHING = Scope()


def filter_variables(filters: Filters, scope: Scope, as_of: date,
                     enrollment_columns: frozenset[str] | None = None) -> dict[str, object]:
    """The per-cursor variables the `selected_episodes()` and `selected_referrals()` macros read.

    enrollment_columns: the extra columns the enrollments hold (None: not known, taken
    as holding every filtered one). A filtered column no enrollment holds (only
    referrals do) selects no episode, whatever its values.
    """
    columns = sorted({col for col, _ in filters.extra})
    unheld = enrollment_columns is not None and not set(columns) <= enrollment_columns
    return {
        "as_of": as_of,
        "admitted_from": filters.admitted_from,
        "admitted_to": filters.admitted_to,
        "sites": list(filters.sites),
        "programs": list(filters.programs),
        "extra_columns": columns,
        "extra_pairs": [f"{col}={val}" for col, val in filters.extra],
        "allowed_sites": None if scope.allowed_sites is None else list(scope.allowed_sites),
        "extra_unheld": unheld,
    }
