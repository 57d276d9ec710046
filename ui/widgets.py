"""Small layout helpers every page uses: as-of line, charts, definitions, tiles, tables, downloads.

Text from imported files (site, program, clinician names) is never rendered as
markdown or HTML here: tables go through st.dataframe, labels through st.text
or widget labels, and anything interpolated into markdown is escaped first.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import pandas as pd
import streamlit as st

from analytics import formatting
from analytics.config import suppression_threshold
from analytics.privacy import exports
from analytics.privacy.suppression import NoSuppressionRule, SuppressionSpec, marker, suppress_table, suppression_of
from analytics.report import definitions
from analytics.store import StoreError
from ui import auth, data
from ui.suppressed import HIDDEN, hidden_cells

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: object) -> str:
    """text with every markdown/HTML special character escaped, safe inside st.markdown.

    >>> md_escape("<img src=x>")
    '\\\\<img src=x\\\\>'
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def as_of_line(ctx: Any) -> None:
    """'Data as of <date>' under the page title, with the filters in force."""
    as_of = ctx.as_of.isoformat() if ctx.as_of else "no data yet"
    st.caption(f"Data as of {as_of}")
    described = "; ".join(f"{label}: {value}" for label, value in ctx.filters.describe())
    # st.text: filter values hold site and program names from imported files.
    st.text(f"Filters: {described}")


def how_computed(anchor: str, doc: str = definitions.METRICS) -> None:
    """A collapsed "How this is computed" note: the section of doc (docs/metrics.md or
    docs/qi.md) whose heading has this anchor, so the page and the doc say the same.

    >>> how_computed("readmission")  # docs/metrics.md, "### Readmission"
    """
    with st.expander("How this is computed"):
        # The docs are ours (never data), so they may use markdown.
        st.markdown(definitions.section(doc, anchor))
        st.caption(f"Full definitions and formulas: `{doc}#{anchor}` in the repository.")


def chart(fig: Any, key: str) -> None:
    """A Plotly figure at full width with a stable key."""
    st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})


def note_empty(what: str = "") -> None:
    """The plain note for an empty selection."""
    st.info(what or "No episodes match these filters. Widen the date range or clear a filter.")


def safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "table"


def table_spec(source: Callable, *args: Any) -> SuppressionSpec | None:
    """The spec declared for the table source(*args) returns (None: nothing to hide).

    Raises NoSuppressionRule when source declares none: such a table may not leave the room.
    """
    rule = suppression_of(source)
    if rule is not None and rule.nothing_to_hide:
        return None
    spec = None if rule is None else rule.spec_for(*args)
    if spec is None:
        raise NoSuppressionRule(f"no table spec declared for {source.__module__}.{source.__qualname__}")
    return spec


def _spec_still_to_apply(df: pd.DataFrame, source: Callable, args: tuple) -> SuppressionSpec | None:
    # A frame that came through ui.suppressed (attrs[HIDDEN], an analyst's) is suppressed by
    # this same spec already: suppressing its markers again would hide more than its chart does.
    return None if HIDDEN in df.attrs else table_spec(source, *args)


def download_table(ctx: Any, df: pd.DataFrame, name: str, source: Callable, *args: Any,
                   export: Callable[[], pd.DataFrame] | None = None, label: str = "Download CSV") -> None:
    """A CSV download of a table of source(*args)'s result: small cells suppressed by the
    spec declared beside source, formulas neutralised, audited.

    export: for a table built from a result rather than returned by it, the table as it
    may leave the room (already suppressed). Not for patient-level lists (the at-risk
    list has no download).
    """
    frame = with_markers(df)
    spec = None if export is not None else _spec_still_to_apply(df, source, args)
    if export is not None:
        make = lambda: exports.safe_csv_bytes(export())  # noqa: E731
    elif spec is not None:
        make = lambda: exports.export_table(frame, spec)  # noqa: E731
    else:
        make = lambda: exports.safe_csv_bytes(frame)  # noqa: E731
    auth.audited_download_button(
        label,
        make,
        file_name=safe_file_name(f"{name}_{ctx.as_of or 'empty'}") + ".csv",
        detail={"table": name, "filters": ctx.filters.describe(), "as_of": str(ctx.as_of), "rows": int(len(frame))},
        key=f"dl_{name}",
    )


def table(ctx: Any, df: pd.DataFrame, name: str, source: Callable, *args: Any,
          export: Callable[[], pd.DataFrame] | None = None, column_config: dict | None = None,
          download: bool = True, hide_index: bool = True) -> None:
    """A table of source(*args)'s result with its CSV download; an analyst (suppressed
    figures only) sees it suppressed by the spec declared beside source.

    export: as for download_table(), for a table built from a result (an analyst's
    copy of the result is suppressed already).
    """
    shown = with_markers(df)
    if getattr(ctx.scope, "suppressed_only", False):
        spec = None if export is not None else _spec_still_to_apply(df, source, args)
        shown = as_text_where_mixed(suppress_table(shown, spec) if spec is not None else shown)
    st.dataframe(shown, hide_index=hide_index, column_config=column_config, width="stretch")
    if download:
        download_table(ctx, df, name, source, *args, export=export)


def static_table(df: pd.DataFrame) -> None:
    """A table with no download control (st.table; st.dataframe's toolbar offers CSV).

    st.table renders markdown in cells, so every text cell (ids, site and program
    names) is escaped first.
    """
    shown = df.copy()
    for col in shown.columns:
        if shown[col].dtype == object:
            shown[col] = shown[col].map(lambda v: v if v is None else md_escape(v))
    st.table(shown)


def as_text_where_mixed(df: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing '<11' markers with numbers as text, so Arrow need not guess (and log) a type."""
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object and values.map(lambda v: isinstance(v, str)).any():
            out[col] = values.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
    return out


def guarded(render: Callable[[], None], what: str) -> None:
    """Run a section; on an error show a plain note, not a traceback.

    A store failure (a damaged store, a lost catalog) is shown as its sentence; any
    other error is logged (type only, no data values) so an operator can find it.
    """
    try:
        render()
    except StoreError as exc:
        # the store's own failure (damaged, unreachable, ...) in one plain sentence
        st.warning(f"{what}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        import logging
        import traceback

        # Type and frames only: an exception message could quote a data value.
        logging.getLogger(__name__).error(
            "section %r failed: %s\n%s", what, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__))
        )
        st.warning(f"{what}: this part could not be computed. The other sections are unaffected.")


def tile(label: str, value: object, kind: str = "count", *, previous: object = None,
         higher_is_better: bool | None = True, help: str | None = None, status: str | None = None) -> None:
    """One KPI tile: value, change against the previous period, optional target status.

    kind: a kind of analytics.formatting ('count', 'rate', 'hours', 'days').
    status is 'green', 'amber' or 'red' (analytics.qi.targets.status); shown as a word
    and a coloured label, so it does not rely on colour alone.
    """
    delta = formatting.delta(value, previous, kind)
    colour = "off" if higher_is_better is None else ("normal" if higher_is_better else "inverse")
    st.metric(label, formatting.number(value, kind), delta=delta, delta_color=colour, help=help, border=True)
    if status in ("green", "amber", "red"):
        words = {"green": "on target", "amber": "near target", "red": "off target"}
        badge_colour = {"green": "green", "amber": "orange", "red": "red"}[status]
        st.badge(f"{status.upper()}: {words[status]}", color=badge_colour)


def cached_chart(ctx: Any, key: str, build: Callable[[], Any], *params: Any) -> None:
    """chart() of a figure cached by ui.data.figure (params: the page controls it depends on).

    For a suppressed_only scope (analysts) the chart's data came through
    ui.suppressed.for_scope, so hidden points are absent; a caption says so.
    """
    chart(data.figure(ctx, key, build, *params), key)
    if getattr(ctx.scope, "suppressed_only", False):
        suppression_caption()


def section_table(ctx: Any, title: str, source: Callable, *args: Any, empty: str = "") -> pd.DataFrame | None:
    """A section's subheader, then source's table for this selection; None, after note_empty(empty),
    when the table has no rows."""
    st.subheader(title)
    df = data.query(ctx, source, *args)
    if df.empty:
        note_empty(empty)
        return None
    return df


def chart_section(ctx: Any, key: str, build: Callable[[], Any], *params: Any, anchor: str, table_df: pd.DataFrame,
                  name: str, source: Callable, source_args: tuple = ()) -> None:
    """A chart section's body: cached_chart(), its "How this is computed" note (docs/metrics.md
    anchor), then table_df as table() (suppression, CSV download, audit) in a collapsed "Table"."""
    cached_chart(ctx, key, build, *params)
    how_computed(anchor)
    with st.expander("Table"):
        table(ctx, table_df, name, source, *source_args)


def table_and_how(ctx: Any, label: str, df: pd.DataFrame, name: str, source: Callable, *args: Any,
                  anchor: str) -> None:
    """df as table() in a collapsed expander titled label, then the "How this is computed" note."""
    with st.expander(label):
        table(ctx, df, name, source, *args)
    how_computed(anchor)


def suppression_caption() -> None:
    """The note under an analyst's chart: which cells are left out, and why."""
    st.caption(f"Cells under {suppression_threshold()} hidden (small-cell suppression).")


def with_markers(df: pd.DataFrame) -> pd.DataFrame:
    """df with the cells ui.suppressed hid (NaN) written as '<11'; df itself when none were hidden.

    >>> with_markers(data.query(ctx, mix.mix_by, "site"))  # analyst: Pinewood's figures read '<11'
    """
    cells = [(i, c) for i, c in hidden_cells(df) if c in df.columns and i in df.index]
    out = df.copy()
    out.attrs = {}
    if not cells:
        return out
    text = marker()
    for col in {c for _, c in cells}:
        out[col] = out[col].astype(object)
    for i, c in cells:
        out.loc[i, c] = text
    return out
