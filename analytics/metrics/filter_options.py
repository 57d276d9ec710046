"""What the shared sidebar filters offer: the values within the user's scope.

The options are read through selected_episodes() with no filters but the
user's Scope bound, so a site lead is offered only their own sites.

>>> with store.read() as cur:
...     bind_filters(cur, Filters(), scope)
...     filter_options(cur).sites
('East', 'North', 'South')
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from analytics.store import sql_text


@dataclass(frozen=True)
class FilterOptions:
    """Sorted choices for each sidebar filter; admit dates are None for an empty selection."""

    sites: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    admit_min: date | None = None
    admit_max: date | None = None
    # extra enrollment column -> its values, both sorted
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def extra_values(self, column: str) -> tuple[str, ...]:
        return dict(self.extra).get(column, ())


def filter_options(cur: duckdb.DuckDBPyConnection) -> FilterOptions:
    """The filter choices over the episodes the cursor's bound Scope may see.

    Bind Filters() (no narrowing) with the user's Scope first.
    """
    rows = cur.execute(sql_text("metrics/filter_options")).fetchall()
    sites = sorted({v for k, _, v, _ in rows if k == "site" and v is not None})
    programs = sorted({v for k, _, v, _ in rows if k == "program" and v is not None})
    extra: dict[str, set[str]] = {}
    for kind, col, val, _ in rows:
        if kind == "extra":
            extra.setdefault(col, set()).add(val)
    dates = {k: d for k, _, _, d in rows if k in ("admit_min", "admit_max")}
    return FilterOptions(
        sites=tuple(sites),
        programs=tuple(programs),
        admit_min=dates.get("admit_min"),
        admit_max=dates.get("admit_max"),
        extra=tuple((c, tuple(sorted(v))) for c, v in sorted(extra.items())),
    )
