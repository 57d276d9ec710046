"""Cached access to the analytics layer for the pages.

- The Store is cached with st.cache_resource: one per process and target,
  shared by every session, never mutated here.
- Every analytics result is cached with st.cache_data, keyed on the store's
  data_version() (so an import invalidates it), the Filters and the Scope
  (frozen dataclasses) and plain arguments. The Scope is part of the key, so a
  site lead never gets a director's cached result.
- Each call reads through its own cursor (Store.read()), with the filters and
  the scope bound on that cursor, so concurrent sessions do not collide.
- A Scope with suppressed_only (analysts) gets every result through
  ui.suppressed.for_scope: small cells hidden (NaN in frames, "<11" in tiles).

Analytics functions are named "module:function" (e.g. "sessions:rates_by") and
imported when first called, so a page can ask whether a teammate's function has
landed yet (`available`) instead of failing at import time.

>>> data.query(ctx, "sessions:rates_by", "week")
"""
from __future__ import annotations

import importlib
from datetime import date
from typing import Any, Callable

import streamlit as st

from analytics.metrics.filter_options import FilterOptions, filter_options
from analytics.filters import Filters, Scope
from analytics.store import Store, bind_filters, default_as_of, default_target, open_store
from ui import suppressed

# Functions whose first argument is a cursor with the filters bound. Anything else
# listed in STORE_FUNCTIONS is called as fn(store, filters, scope, *args).
STORE_FUNCTIONS: frozenset[str] = frozenset({"metrics:summary", "periods:compare_months"})


@st.cache_resource(show_spinner=False)
def _store_for(target: str) -> Store:
    return open_store(target)


def store() -> Store:
    """This process's Store for IOP_DB (or the bundled sample store)."""
    return _store_for(default_target())


_MODULES = {
    "atrisk": "qi.atrisk", "audit": "privacy.audit", "breakdowns": "metrics.breakdowns",
    "charts_qi": "report.qi_figures", "coverage": "metrics.coverage", "dose": "metrics.dose",
    "funnel": "qi.funnel", "import_history": "ingest.history", "interventions": "qi.interventions",
    "metrics": "metrics.summary", "mix": "metrics.mix", "outcomes": "metrics.discharges", "periods": "qi.periods",
    "report": "report.packet", "retention": "metrics.retention", "sessions": "metrics.sessions", "spc": "qi.spc",
}


def resolve(name: str) -> Callable[..., Any]:
    """The analytics function "module:function" (module under analytics/)."""
    module, _, func = name.partition(":")
    if not module.isidentifier() or not func.isidentifier():
        raise ValueError(f"not an analytics function name: {name!r}")
    return getattr(importlib.import_module(f"analytics.{_MODULES.get(module, module)}"), func)


def available(name: str) -> bool:
    """True when a teammate's analytics function exists (module imports, function defined)."""
    try:
        resolve(name)
    except (ImportError, AttributeError):
        return False
    return True


def _call(target: str, filters: Filters, scope: Scope, name: str, args: tuple, kwargs: tuple) -> Any:
    fn = resolve(name)
    s = open_store(target)
    if name in STORE_FUNCTIONS:
        result = fn(s, filters, scope, *args, **dict(kwargs))
    else:
        with s.read() as cur:
            bind_filters(cur, filters, scope)
            result = fn(cur, *args, **dict(kwargs))
    # The one place an analyst's figures are suppressed: every page reads through here.
    return suppressed.for_scope(scope, name, args, dict(kwargs), result)


@st.cache_data(show_spinner=False, max_entries=2000)
def _cached(target: str, version: str, filters: Filters, scope: Scope, name: str,
            args: tuple, kwargs: tuple) -> Any:
    # `version` is only a cache key: a new import gives new entries.
    return _call(target, filters, scope, name, args, kwargs)


def query(ctx: Any, name: str, *args: Any, filters: Filters | None = None, **kwargs: Any) -> Any:
    """The (cached) result of analytics function `name` for the page's filters and scope.

    filters overrides the page's filters (e.g. the previous period for a delta).
    Extra arguments must be hashable plain values (str, int, date, tuples).
    """
    return _cached(
        ctx.target, ctx.data_version, filters if filters is not None else ctx.filters, ctx.scope,
        name, tuple(args), tuple(sorted(kwargs.items())),
    )


@st.cache_data(show_spinner=False, max_entries=200)
def options(target: str, version: str, scope: Scope) -> tuple[FilterOptions, date | None]:
    """(filter choices within the scope, the store's as_of date); as_of None when empty."""
    with open_store(target).read() as cur:
        bind_filters(cur, Filters(), scope)
        return filter_options(cur), default_as_of(cur)


def call_uncached(target: str, filters: Filters, scope: Scope, name: str, *args: Any, **kwargs: Any) -> Any:
    """The same call without Streamlit's cache (benchmarks and the concurrency test)."""
    return _call(target, filters, scope, name, tuple(args), tuple(sorted(kwargs.items())))


@st.cache_data(show_spinner=False, max_entries=1000)
def _figure(key: tuple, _build: Callable[[], Any]) -> Any:
    # `_build` is not hashed (leading underscore): the key says what the figure shows.
    return _build()


def figure(ctx: Any, name: str, build: Callable[[], Any], *params: Any) -> Any:
    """A Plotly figure built once per data version, filters, scope, chart name and params.

    Building a Plotly figure (validation of every property) costs tens of
    milliseconds, so a page with several charts would spend most of a cached
    rerun there. params must hold every page control the figure depends on.
    """
    return _figure((ctx.target, ctx.data_version, ctx.filters, ctx.scope, name, params), build)
