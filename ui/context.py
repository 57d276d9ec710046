"""What every page starts with: the access gate, the shared sidebar filters, the store.

    ctx = page_context()          # first line of every page

1. Access: ui.auth.require_access() decides the visitor's Scope (or stops the
   page with a login prompt). dashboard.py calls it before building the
   navigation; a page run on its own (deep link, AppTest.from_file) calls it
   here, so no page can be reached around the gate.
2. Filters: the as-of date, admission date range, sites, programs and one extra
   enrollment column with its values, in the sidebar, with fixed keys. Streamlit drops a
   widget's state when the widget is not rendered (another page has its own
   widget identities), so each value is also kept under a non-widget key and
   the widget is re-seeded from it: filters survive page switches.
   The options come from the store within the user's scope; the values reach
   SQL only as bound parameters, and the scope is applied in SQL whatever they say.
   They also live in the page URL (ui.links): a session's first run takes them
   from the link it was opened with, and every run writes them back.
3. Returns a frozen PageContext for the page to pass to ui.data.query().
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from analytics.metrics.filter_options import FilterOptions
from analytics.filters import Filters, Scope
from analytics.store import CatalogUnreachable, Store, StoreDamaged, StoreError, StoreOutdated
from ui import auth, data, links
from ui.widgets import md_escape

# Widget keys (fixed, so every page's widgets share them) and the kept copies.
K_DATES = "flt_admitted"
K_SITES = "flt_sites"
K_PROGRAMS = "flt_programs"
K_EXTRA_COL = "flt_extra_column"
K_EXTRA_VALS = "flt_extra_values"
K_AS_OF = "flt_as_of"
FILTER_KEYS = (K_DATES, K_SITES, K_PROGRAMS, K_EXTRA_COL, K_EXTRA_VALS, K_AS_OF)
NO_COLUMN = "(none)"
_KEEP = "_keep_"
_LINK_READ = "_iop_link_read"
_LINK_NOTES = "_iop_link_notes"
_GATE = "_iop_gate_this_run"


@dataclass(frozen=True)
class PageContext:
    """What a page needs to ask the analytics layer anything."""

    store: Store
    target: str
    filters: Filters
    scope: Scope
    as_of: date | None  # the as-of date in force; None: the store holds no data yet
    data_version: str
    options: FilterOptions

    @property
    def has_data(self) -> bool:
        return self.as_of is not None


# -- routing ------------------------------------------------------------------
def leave_pages_directory_mode() -> None:
    """Make Streamlit route through dashboard.py's st.navigation, even on a deep link.

    Why: with a pages/ folder beside the main script, Streamlit starts in its
    old multipage mode and, until st.navigation has run once in the process,
    serves a deep link such as /retention by running pages/retention.py alone:
    no page config, a file-name sidebar, and dashboard.py's gate skipped (the
    page's own gate still runs). st.navigation switches that mode off; doing
    it here and rerunning sends this request through dashboard.py. Page hashes
    come from url_path, which is the same in both modes, so the rerun lands on
    the page asked for.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# -- access -------------------------------------------------------------------
def _run_marker() -> object | None:
    """An object that lives exactly as long as this script run (None outside Streamlit)."""
    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.cursors  # replaced by a new dict on every rerun


def gate() -> Scope:
    """The visitor's Scope, asking ui.auth.require_access() once per script run.

    dashboard.py calls this before st.navigation; the page's page_context()
    calls it again and reuses the answer of this same run (so the local-mode
    banner is not drawn twice). A page run without dashboard.py has no answer
    from this run, so it passes the gate itself.
    """
    marker = _run_marker()
    kept = st.session_state.get(_GATE)
    if marker is not None and kept is not None and kept[0] is marker:
        return kept[1]
    scope = auth.require_access()
    if marker is not None:
        st.session_state[_GATE] = (marker, scope)
    return scope


# -- filter persistence -------------------------------------------------------
def _seed(key: str, default: Any, valid: Any = None) -> None:
    """Put the kept value (or default) into a widget key that has no state this run."""
    value = st.session_state[key] if key in st.session_state else st.session_state.get(_KEEP + key, default)
    if valid is not None:
        value = valid(value)
    # Written on every run: after a page switch the key still reads the old page's
    # widget, but the new widget takes its value only from a Session State write.
    st.session_state[key] = value


def _keep(key: str) -> None:
    st.session_state[_KEEP + key] = st.session_state.get(key)


def reset_filters() -> None:
    """Clear every filter (an on_click callback)."""
    for key in FILTER_KEYS:
        st.session_state.pop(_KEEP + key, None)
        st.session_state.pop(key, None)


def _only(options: tuple[str, ...]):
    def valid(value: Any) -> list[str]:
        return [v for v in (value or []) if v in options]
    return valid


def _date_range(opts: FilterOptions):
    lo, hi = opts.admit_min, opts.admit_max

    def valid(value: Any) -> tuple[date, ...]:
        values = [v for v in (value or ()) if isinstance(v, date)]
        if not values:
            return (lo, hi)
        return tuple(min(max(v, lo), hi) for v in values[:2])
    return valid


def _filters_from_widgets(opts: FilterOptions, as_of: date | None = None) -> Filters:
    picked = st.session_state.get(K_AS_OF)
    dates = tuple(st.session_state.get(K_DATES) or ())
    start = dates[0] if len(dates) >= 1 else None
    end = dates[1] if len(dates) >= 2 else None
    # The full range means "no date filter", so later admissions are not cut off.
    admitted_from = start if start and opts.admit_min and start > opts.admit_min else None
    admitted_to = end if end and opts.admit_max and end < opts.admit_max else None
    column = st.session_state.get(K_EXTRA_COL) or NO_COLUMN
    values = st.session_state.get(K_EXTRA_VALS) or []
    extra = tuple((column, v) for v in values) if column != NO_COLUMN else ()
    return Filters(
        admitted_from=admitted_from,
        admitted_to=admitted_to,
        sites=tuple(st.session_state.get(K_SITES) or ()),
        programs=tuple(st.session_state.get(K_PROGRAMS) or ()),
        extra=extra,
        as_of=picked if isinstance(picked, date) and picked != as_of else None,  # the cutoff: no filter
    )


# -- the filters in the URL -------------------------------------------------
def _read_link(opts: FilterOptions, as_of: date | None) -> None:
    """On a session's first run with data, keep the filters its link names (notes for the rest)."""
    if as_of is None or st.session_state.get(_LINK_READ):
        return
    st.session_state[_LINK_READ] = True
    params = {name: st.query_params.get_all(name) for name in links.PARAMS}
    filters, notes = links.filters_from_query(params, opts, as_of)
    kept = {
        K_AS_OF: filters.as_of,
        K_DATES: (filters.admitted_from or opts.admit_min, filters.admitted_to or opts.admit_max),
        K_SITES: list(filters.sites),
        K_PROGRAMS: list(filters.programs),
        K_EXTRA_COL: filters.extra[0][0] if filters.extra else NO_COLUMN,
        K_EXTRA_VALS: [v for _, v in filters.extra],
    }
    for key, value in kept.items():
        st.session_state[_KEEP + key] = value
    if notes:
        st.session_state[_LINK_NOTES] = (filters, notes)


def _write_link(filters: Filters) -> None:
    """The filters in force into the URL (only what changed: each write is a message)."""
    wanted = links.query_from_filters(filters)
    for name in links.PARAMS:
        values = wanted.get(name, [])
        if st.query_params.get_all(name) != values:
            if values:
                st.query_params[name] = values
            else:
                del st.query_params[name]


def _link_notes(filters: Filters) -> tuple[str, ...]:
    """What the link asked for and did not get, while its filters are still those in force."""
    kept = st.session_state.get(_LINK_NOTES)
    return kept[1] if kept and kept[0] == filters else ()


def render_filters(opts: FilterOptions, as_of: date | None = None) -> Filters:
    """The shared sidebar filters (fixed keys, kept across pages); returns the Filters.

    as_of is the store's data cutoff: the as-of picker's default and latest date.
    """
    sb = st.sidebar
    sb.header("Filters")
    notes = sb.container()  # the link's notes go under the heading, once the filters are known
    _read_link(opts, as_of)
    if as_of is not None:
        kept = st.session_state.get(K_AS_OF, st.session_state.get(_KEEP + K_AS_OF))
        seed = kept if isinstance(kept, date) and (opts.admit_min or as_of) <= kept <= as_of else as_of
        if K_AS_OF in st.session_state and st.session_state[K_AS_OF] != seed:
            st.session_state[K_AS_OF] = seed  # after a page switch, or the data moved under a kept value
        sb.date_input(
            "Data as of",
            value=seed,
            min_value=min(opts.admit_min or as_of, as_of),
            max_value=as_of,
            key=K_AS_OF,
            help="The figures as they would have been seen on this date: later admissions, sessions and "
                 "discharges are left out. Defaults to the data cutoff (the latest date in the store).",
        )
    if opts.admit_min is not None and opts.admit_max is not None:
        # Seeded through `value`, not Session State: with a key, value is used only when
        # the widget is new (e.g. after a page switch), and a range needs a tuple value.
        kept = st.session_state.get(K_DATES, st.session_state.get(_KEEP + K_DATES))
        seed = _date_range(opts)(kept)
        if K_DATES in st.session_state and tuple(st.session_state[K_DATES]) != seed:
            st.session_state[K_DATES] = seed  # the data's range moved under a kept value
        sb.date_input(
            "Admission date",
            value=seed,
            min_value=opts.admit_min,
            max_value=opts.admit_max,
            key=K_DATES,
            help="Episodes admitted in this range. Metrics count these episodes and their sessions.",
        )
    _seed(K_SITES, [], _only(opts.sites))
    sb.multiselect("Sites", opts.sites, key=K_SITES, placeholder="All sites")
    _seed(K_PROGRAMS, [], _only(opts.programs))
    sb.multiselect("Programs", opts.programs, key=K_PROGRAMS, placeholder="All programs")
    columns = tuple(c for c, _ in opts.extra)
    if columns:
        _seed(K_EXTRA_COL, NO_COLUMN, lambda v: v if v in columns else NO_COLUMN)
        sb.selectbox("Other enrollment column", (NO_COLUMN,) + columns, key=K_EXTRA_COL)
        column = st.session_state[K_EXTRA_COL]
        if column != NO_COLUMN:
            values = opts.extra_values(column)
            _seed(K_EXTRA_VALS, [], _only(values))
            # Widget labels render markdown and the column name comes from an imported header.
            sb.multiselect(f"Values of {md_escape(column)}", values, key=K_EXTRA_VALS, placeholder="All values")
    sb.button("Reset filters", key="flt_reset", on_click=reset_filters)
    for key in FILTER_KEYS:
        if key in st.session_state:
            _keep(key)
    if st.session_state.get(_KEEP + K_AS_OF) == as_of:
        st.session_state[_KEEP + K_AS_OF] = None  # the cutoff follows the data when an import moves it
    filters = _filters_from_widgets(opts, as_of)
    _write_link(filters)
    for note in _link_notes(filters):
        notes.info(note)
    return filters


# -- the page context ---------------------------------------------------------
def page_context(require_data: bool = True) -> PageContext:
    """Gate, shared filters and store for this page (call first on every page).

    require_data: stop with a plain note when the store holds nothing yet
    (the Data page passes False, so data can be imported).
    """
    leave_pages_directory_mode()
    scope = gate()
    auth.render_identity(scope)
    try:
        store = data.store()
        version = store.data_version()
        opts, as_of = data.options(store.target, version, scope)
    except StoreOutdated as exc:
        st.warning(str(exc))  # a reader never migrates a store: it says what to run
        st.stop()
    except (StoreDamaged, CatalogUnreachable) as exc:
        # One plain sentence (analytics.store.failures), on every page; a lost catalog is
        # attached anew on the next run, so the page recovers by itself.
        st.error(str(exc))
        st.stop()
    except StoreError as exc:
        if require_data:
            st.info(f"{exc} The Data page imports files.")
            st.stop()
        store, version, opts, as_of = data.store(), "-", FilterOptions(), None
    filters = render_filters(opts, as_of)
    if require_data and as_of is None:
        st.info("The store holds no data yet. Import attendance and enrollment exports on the Data page.")
        st.stop()
    return PageContext(
        store=store, target=store.target, filters=filters, scope=scope, as_of=filters.as_of or as_of,
        data_version=version, options=opts,
    )
