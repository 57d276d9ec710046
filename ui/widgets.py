"""Small layout helpers every page uses: as-of line, charts, definitions, tables, downloads.

Text from imported files (site, program, clinician names) is never rendered as
markdown or HTML here: tables go through st.dataframe, labels through st.text
or widget labels, and anything interpolated into markdown is escaped first.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import pandas as pd
import streamlit as st

from ui import auth

METRICS_DOC = "docs/metrics.md"
METRICS_URL_ENV = "IOP_METRICS_DOC_URL"
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


def how_computed(text: str, anchor: str = "", doc: str = METRICS_DOC) -> None:
    """A collapsed "How this is computed" note with the plain definition and the doc path.

    text is written by us (never data), so it may use markdown.
    """
    with st.expander("How this is computed"):
        st.markdown(text)
        where = doc + (f"#{anchor}" if anchor else "")
        st.caption(f"Full definitions and formulas: `{where}` in the repository.")


def chart(fig: Any, key: str) -> None:
    """A Plotly figure at full width with a stable key."""
    st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})


def note_empty(what: str = "") -> None:
    """The plain note for an empty selection."""
    st.info(what or "No episodes match these filters. Widen the date range or clear a filter.")


def safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "table"


def download_table(ctx: Any, df: pd.DataFrame, name: str, spec: Any, *, label: str = "Download CSV") -> None:
    """A CSV download of a table: small cells suppressed, formulas neutralised, audited.

    spec is an analytics.suppression.SuppressionSpec naming the table's count and
    rate columns. Not for patient-level lists (the at-risk list has no download).
    """
    from analytics.privacy import exports  # the access teammate's module: suppression + formula safety

    frame = with_markers(df)
    auth.audited_download_button(
        label,
        lambda: exports.export_table(frame, spec),
        file_name=safe_file_name(f"{name}_{ctx.as_of or 'empty'}") + ".csv",
        detail={"table": name, "filters": ctx.filters.describe(), "rows": int(len(frame))},
        key=f"dl_{name}",
    )


def table(ctx: Any, df: pd.DataFrame, name: str, spec: Any, *, column_config: dict | None = None,
          download: bool = True, hide_index: bool = True) -> None:
    """A table with its CSV download; an analyst (suppressed figures only) sees it suppressed."""
    shown = with_markers(df)
    if getattr(ctx.scope, "suppressed_only", False):
        from analytics.privacy.suppression import suppress_table

        shown = as_text_where_mixed(suppress_table(shown, spec))
    st.dataframe(shown, hide_index=hide_index, column_config=column_config, width="stretch")
    if download:
        download_table(ctx, df, name, spec)


def as_text_where_mixed(df: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing '<11' markers with numbers as text, so Arrow need not guess (and log) a type."""
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object and values.map(lambda v: isinstance(v, str)).any():
            out[col] = values.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
    return out


def guarded(render: Callable[[], None], what: str) -> None:
    """Run a section; on an unexpected error show a plain note, not a traceback.

    The error is logged (type only, no data values) so an operator can find it.
    """
    try:
        render()
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        import logging
        import traceback

        # Type and frames only: an exception message could quote a data value.
        logging.getLogger(__name__).error(
            "section %r failed: %s\n%s", what, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__))
        )
        st.warning(f"{what}: this part could not be computed. The other sections are unaffected.")


def fmt_value(value: object, kind: str = "count") -> str:
    """A tile value as text: 'count' 1,234; 'rate' 81.2%; 'hours' 9.5 h; 'days' 41 d; None -> '—'."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, str):
        return value  # already formatted (e.g. a suppressed '<11')
    if kind == "rate":
        return f"{100 * float(value):.1f}%"
    if kind == "hours":
        return f"{float(value):.1f} h"
    if kind == "days":
        return f"{float(value):.0f} d"
    return f"{int(value):,}"


def fmt_delta(current: object, previous: object, kind: str = "count") -> str | None:
    """The change from previous to current in the tile's unit (rates in points), or None."""
    if current is None or previous is None or isinstance(current, str) or isinstance(previous, str):
        return None
    if kind == "rate":
        return f"{100 * (float(current) - float(previous)):+.1f} pts"
    if kind == "hours":
        return f"{float(current) - float(previous):+.1f} h"
    if kind == "days":
        return f"{float(current) - float(previous):+.0f} d"
    return f"{int(current) - int(previous):+,}"


def tile(label: str, value: object, kind: str = "count", *, previous: object = None,
         higher_is_better: bool | None = True, help: str | None = None, status: str | None = None) -> None:
    """One KPI tile: value, change against the previous period, optional target status.

    status is 'green', 'amber' or 'red' (analytics.targets.status); shown as a word
    and a coloured label, so it does not rely on colour alone.
    """
    delta = fmt_delta(value, previous, kind)
    colour = "off" if higher_is_better is None else ("normal" if higher_is_better else "inverse")
    st.metric(label, fmt_value(value, kind), delta=delta, delta_color=colour, help=help, border=True)
    if status in ("green", "amber", "red"):
        words = {"green": "on target", "amber": "near target", "red": "off target"}
        badge_colour = {"green": "green", "amber": "orange", "red": "red"}[status]
        st.badge(f"{status.upper()}: {words[status]}", color=badge_colour)


def cached_chart(ctx: Any, key: str, build: Callable[[], Any], *params: Any) -> None:
    """chart() of a figure cached by ui.data.figure (params: the page controls it depends on).

    For a suppressed_only scope (analysts) the chart's data came through
    ui.suppressed.for_scope, so hidden points are absent; a caption says so.
    """
    from ui import data

    chart(data.figure(ctx, key, build, *params), key)
    if getattr(ctx.scope, "suppressed_only", False):
        suppression_caption()


def suppression_caption() -> None:
    """The note under an analyst's chart: which cells are left out, and why."""
    from analytics.config import suppression_threshold

    st.caption(f"Cells under {suppression_threshold()} hidden (small-cell suppression).")


def with_markers(df: pd.DataFrame) -> pd.DataFrame:
    """df with the cells ui.suppressed hid (NaN) written as '<11'; df itself when none were hidden.

    >>> with_markers(data.query(ctx, "mix:mix_by", "site"))  # analyst: Pinewood's figures read '<11'
    """
    from analytics.privacy.suppression import marker
    from ui.suppressed import hidden_cells

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
