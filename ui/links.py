"""The shared filters in the page URL, so that a copied link opens the same view.

    ?as_of=2024-03-31&from=2024-01-01&site=Riverside&site=Lakeview&column=payer&value=Medicaid

- filters_from_query() reads a link's query parameters into Filters, keeping only
  what the user may choose: dates that parse and fall within the data, sites,
  programs and column values among the options of the user's own scope. Whatever
  else the link says is left out, with a plain note that never repeats the link's
  text (a site outside the scope is not named, so a link cannot probe for one).
- query_from_filters() is the reverse, written on every run: Streamlit clears the
  query parameters when the user switches page.

Neither widens access: the Scope is applied in SQL whatever the filters say.

>>> opts = FilterOptions(sites=("North",), admit_min=date(2024, 1, 1), admit_max=date(2024, 6, 30))
>>> filters, notes = filters_from_query({"site": ["North", "South"]}, opts, date(2024, 7, 1))
>>> filters.sites, notes
(('North',), ('The link names a site that is not among the sites you may see; it is left out.',))
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from analytics.filters import Filters
from analytics.metrics.filter_options import FilterOptions

# Query parameter names, one per shared filter; a repeated parameter holds several values.
AS_OF, ADMITTED_FROM, ADMITTED_TO, SITE, PROGRAM, COLUMN, VALUE = (
    "as_of", "from", "to", "site", "program", "column", "value")
PARAMS = (AS_OF, ADMITTED_FROM, ADMITTED_TO, SITE, PROGRAM, COLUMN, VALUE)

NOTE_AS_OF = "The link's as-of date is not a date within the data (YYYY-MM-DD); the data cutoff is used."
NOTE_ADMITTED = "The link's admission dates are not dates within the data (YYYY-MM-DD); that bound is left out."
NOTE_SITE = "The link names a site that is not among the sites you may see; it is left out."
NOTE_PROGRAM = "The link names a program that is not among the programs you may see; it is left out."
NOTE_COLUMN = "The link names an enrollment column or value that is not in the data you may see; it is left out."


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return None


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = [v for v in params.get(name, ()) if v != ""]
    return values[-1] if values else None


def filters_from_query(params: Mapping[str, Sequence[str]], opts: FilterOptions,
                       as_of: date | None) -> tuple[Filters, tuple[str, ...]]:
    """(the Filters a link asks for, within opts; the notes on what was left out).

    params maps each query parameter to its values (st.query_params.get_all);
    opts are the filter choices of the user's scope; as_of is the store's cutoff.
    """
    notes: list[str] = []
    lo, hi = opts.admit_min, opts.admit_max

    picked_as_of = None
    if (text := _one(params, AS_OF)) is not None:
        day = _date(text)
        if day is None or as_of is None or lo is None or not lo <= day <= as_of:
            notes.append(NOTE_AS_OF)
        elif day != as_of:  # the cutoff itself is the default: no as-of filter
            picked_as_of = day

    bounds: dict[str, date | None] = {ADMITTED_FROM: None, ADMITTED_TO: None}
    for name in bounds:
        if (text := _one(params, name)) is None:
            continue
        day = _date(text)
        if day is None or lo is None or hi is None or not lo <= day <= hi:
            notes.append(NOTE_ADMITTED)
        else:
            bounds[name] = day
    start, end = bounds[ADMITTED_FROM], bounds[ADMITTED_TO]
    if start and end and start > end:
        notes.append(NOTE_ADMITTED)
        start = end = None
    # The data's own range is no filter, as in the sidebar, so later admissions are not cut off.
    start = start if start and start > lo else None
    end = end if end and end < hi else None

    def chosen(name: str, options: tuple[str, ...], note: str) -> tuple[str, ...]:
        asked = list(dict.fromkeys(params.get(name, ())))
        if any(v not in options for v in asked):
            notes.append(note)
        return tuple(v for v in asked if v in options)

    sites = chosen(SITE, opts.sites, NOTE_SITE)
    programs = chosen(PROGRAM, opts.programs, NOTE_PROGRAM)
    extra: tuple[tuple[str, str], ...] = ()
    column = _one(params, COLUMN)
    if column is not None and column not in dict(opts.extra):
        notes.append(NOTE_COLUMN)
    elif column is not None:
        extra = tuple((column, v) for v in chosen(VALUE, opts.extra_values(column), NOTE_COLUMN))
    elif params.get(VALUE):
        notes.append(NOTE_COLUMN)

    filters = Filters(admitted_from=start, admitted_to=end, sites=sites, programs=programs, extra=extra,
                      as_of=picked_as_of)
    return filters, tuple(dict.fromkeys(notes))


def query_from_filters(filters: Filters) -> dict[str, list[str]]:
    """The query parameters that name filters (only those in force), for the page URL.

    >>> query_from_filters(Filters(sites=("North",), as_of=date(2024, 3, 31)))
    {'as_of': ['2024-03-31'], 'site': ['North']}
    """
    out: dict[str, list[str]] = {}
    if filters.as_of:
        out[AS_OF] = [filters.as_of.isoformat()]
    if filters.admitted_from:
        out[ADMITTED_FROM] = [filters.admitted_from.isoformat()]
    if filters.admitted_to:
        out[ADMITTED_TO] = [filters.admitted_to.isoformat()]
    if filters.sites:
        out[SITE] = list(filters.sites)
    if filters.programs:
        out[PROGRAM] = list(filters.programs)
    if filters.extra:
        out[COLUMN] = [filters.extra[0][0]]
        out[VALUE] = [v for _, v in filters.extra]
    return out
