"""Cached access to the analytics layer for the pages: analytics functions called by reference.

    rates = data.query(ctx, sessions.rates_by, "week")

- The Store is cached with st.cache_resource: one per process and target,
  shared by every session, never mutated here.
- Every analytics result is cached with st.cache_data, keyed on the function's
  qualified name, the store's data_version() (so an import invalidates it), the
  Filters and the Scope (frozen dataclasses) and the plain arguments. The Scope is
  part of the key, so a site lead never gets a director's cached result.
- Most analytics functions read a cursor whose filters and scope are bound
  (Store.read() + bind_filters, a cursor per call, so concurrent sessions do not
  collide). A function whose first parameter is typed `Store` binds them itself
  and is called as fn(store, filters, scope, *args) (qi.periods.compare_months).
- A Scope with suppressed_only (analysts) gets every result through
  ui.suppressed.for_scope: the suppression declared beside the function.
"""
from __future__ import annotations

import functools
import inspect
from datetime import date
from typing import Any, Callable, TypeVar

import streamlit as st

from analytics.filters import Filters, Scope
from analytics.store import Store, bind_filters, default_as_of, default_target, open_store
from analytics.metrics.filter_options import FilterOptions, filter_options
from ui import suppressed

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _store_for(target: str) -> Store:
    return open_store(target)


def store() -> Store:
    """This process's Store for IOP_DB (or the bundled sample store)."""
    return _store_for(default_target())


def qualified_name(fn: Callable) -> str:
    """'analytics.metrics.sessions.rates_by': what names a function in a cache key."""
    return f"{fn.__module__}.{fn.__qualname__}"


@functools.cache
def reads_store(fn: Callable) -> bool:
    """True when fn's first parameter is typed Store: it takes (store, filters, scope, ...)
    and binds the filters itself; otherwise it takes a cursor with them bound."""
    try:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
    except NameError:  # an annotation that names something its module imports only for type checking
        params = list(inspect.signature(fn).parameters.values())
    hint = params[0].annotation if params else None
    return (isinstance(hint, type) and issubclass(hint, Store)) or hint == "Store"


def call(target: str, filters: Filters, scope: Scope, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn's result for the filters and scope, as the scope may see it (not cached)."""
    s = open_store(target)
    if reads_store(fn):
        result = fn(s, filters, scope, *args, **kwargs)
    else:
        with s.read() as cur:
            bind_filters(cur, filters, scope)
            result = fn(cur, *args, **kwargs)
    # The one place an analyst's figures are suppressed: every page reads through here.
    return suppressed.for_scope(scope, fn, args, kwargs, result)


@st.cache_data(show_spinner=False, max_entries=2000)
def _cached(target: str, version: str, filters: Filters, scope: Scope, name: str, args: tuple, kwargs: tuple,
            _fn: Callable) -> Any:
    # `version` and `name` are only cache keys (`_fn` is not hashed): a new import gives new entries.
    return call(target, filters, scope, _fn, *args, **dict(kwargs))


def query(ctx: Any, fn: Callable[..., T], *args: Any, filters: Filters | None = None, **kwargs: Any) -> T:
    """The (cached) result of analytics function fn for the page's filters and scope.

    filters overrides the page's filters (e.g. the previous period for a delta).
    Extra arguments must be hashable plain values (str, int, date, tuples).
    >>> data.query(ctx, sessions.rates_by, "week")
    """
    return _cached(ctx.target, ctx.data_version, filters if filters is not None else ctx.filters, ctx.scope,
                   qualified_name(fn), tuple(args), tuple(sorted(kwargs.items())), fn)


@st.cache_data(show_spinner=False, max_entries=200)
def options(target: str, version: str, scope: Scope) -> tuple[FilterOptions, date | None]:
    """(filter choices within the scope, the store's as_of date); as_of None when empty."""
    with open_store(target).read() as cur:
        bind_filters(cur, Filters(), scope)
        return filter_options(cur), default_as_of(cur)


def audited_view(ctx: Any, fn: Callable[..., T], key: str) -> T:
    """fn(store, filters, scope) once per session, data version, filters and scope.

    For results whose every call writes an audit row (the at-risk list): a rerun of
    the page reuses this session's copy instead of recording another view.
    """
    view = (ctx.data_version, ctx.filters, ctx.scope)
    kept = st.session_state.get(key)
    if kept is None or kept[0] != view:
        kept = (view, fn(ctx.store, ctx.filters, ctx.scope))
        st.session_state[key] = kept
    return kept[1]


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
