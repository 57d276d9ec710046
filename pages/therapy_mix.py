"""Therapy mix: how attended hours split between the five IOP components. Layout only."""
from __future__ import annotations

import streamlit as st

from analytics.metrics import mix
from analytics.report import figures
from analytics.store.schema import SESSION_TYPES
from ui import data, widgets
from ui.context import page_context

ctx = page_context()
st.title("Therapy mix")
widgets.as_of_line(ctx)


def _label(df, column="session_type"):
    out = df.copy()
    out[column] = out[column].map(lambda t: figures.COMPONENT_LABELS.get(t, str(t).replace("_", " ").capitalize()))
    return out


ORDER = [figures.COMPONENT_LABELS[t] for t in SESSION_TYPES]


def overall() -> None:
    st.subheader("Share of attended hours by component")
    table = data.query(ctx, mix.therapy_mix_table)
    if table.empty:
        widgets.note_empty("No attended sessions in this selection.")
        st.stop()
    if table["share"].isna().all():
        widgets.note_empty("Every share in this selection is hidden by small-cell suppression (too few patients)."
                           if ctx.scope.suppressed_only else "No attended sessions in this selection.")
        return
    shown = _label(table)
    shown["hours"] = shown["attended_minutes"] / 60.0
    shown = shown.sort_values("share")

    def build():
        fig = figures.bar_chart(shown, x="session_type", y="share", horizontal=True, percent=True,
                               color="session_type", colour_map=figures.COMPONENT_COLOURS,
                               category_order=list(shown["session_type"]),
                               title="Share of attended hours by therapy component",
                               x_title="Share of attended hours (%)", y_title="Component", height=320)
        fig.update_layout(showlegend=False)
        return fig
    widgets.cached_chart(ctx, "mix_overall", build)
    widgets.how_computed("shares-of-attended-minutes")
    with st.expander("Table"):
        widgets.table(ctx, table, "therapy_mix", mix.therapy_mix_table)


def by_week() -> None:
    st.subheader("How the mix changes over the program")
    table = data.query(ctx, mix.mix_by_program_week)
    if table.empty:
        widgets.note_empty("No attended sessions in program weeks 1 to 12 for this selection.")
        return

    def build():
        fig = figures.stacked_share(_label(table), x="week_number", series="session_type", share="share",
                                   title="Share of attended hours by component, program weeks 1–12",
                                   colour_map=figures.COMPONENT_COLOURS,
                                   x_title="Program week", y_title="Share of attended hours (%)")
        fig.update_xaxes(type="category")
        fig.update_layout(legend_traceorder="normal")
        return fig
    widgets.cached_chart(ctx, "mix_by_week", build)
    widgets.how_computed("shares-of-attended-minutes")
    with st.expander("Table"):
        widgets.table(ctx, table, "therapy_mix_by_program_week", mix.mix_by_program_week)


def compared() -> None:
    st.subheader("Programs and sites compared")
    labels = {"program": "Program", "site": "Site"}
    dim = st.radio("Compare", list(labels), format_func=labels.get, key="mix_dim", horizontal=True)
    table = data.query(ctx, mix.mix_by, dim)
    if table.empty:
        widgets.note_empty()
        return
    shown = _label(table)
    shown[dim] = shown[dim].fillna("(not recorded)").astype(str)
    n = shown[dim].nunique()

    def build():
        fig = figures.stacked_share(shown, x=dim, series="session_type", share="share", horizontal=True,
                                   title=f"Share of attended hours by component and {dim}",
                                   x_title="Share of attended hours (%)", y_title=labels[dim],
                                   colour_map=figures.COMPONENT_COLOURS,
                                   height=max(300, 40 * n + 140))
        return fig
    widgets.cached_chart(ctx, "mix_by_dim", build, dim)
    widgets.how_computed("shares-of-attended-minutes")
    with st.expander("Table"):
        widgets.table(ctx, table, f"therapy_mix_by_{dim}", mix.mix_by)


def reach() -> None:
    st.subheader("Episodes that received each component")
    table = data.query(ctx, mix.component_reach)
    if table.empty:
        widgets.note_empty("No selected episode attended any session yet.")
        return
    shown = _label(table)

    def build():
        fig = figures.bar_chart(shown, x="session_type", y="reach", percent=True, category_order=ORDER,
                               color="session_type", colour_map=figures.COMPONENT_COLOURS,
                               title="Share of episodes that attended each component at least once",
                               x_title="Component", y_title="Share of episodes (%)", height=340)
        fig.update_layout(showlegend=False)
        return fig
    widgets.cached_chart(ctx, "mix_reach", build)
    widgets.how_computed("component-reach")
    with st.expander("Table"):
        widgets.table(ctx, table, "component_reach", mix.component_reach)


for section, name in ((overall, "Therapy mix"), (by_week, "Mix by program week"), (compared, "Mix compared"),
                      (reach, "Component reach")):
    widgets.guarded(section, name)
