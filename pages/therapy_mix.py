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


def _component_bars(shown, y: str, **options):
    """A bar per component in its colour, without a legend: the axis names the components."""
    fig = figures.bar_chart(shown, x="session_type", y=y, percent=True, color="session_type",
                           colour_map=figures.COMPONENT_COLOURS, **options)
    fig.update_layout(showlegend=False)
    return fig


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
        return _component_bars(shown, "share", horizontal=True, category_order=list(shown["session_type"]),
                               title="Share of attended hours by therapy component",
                               x_title="Share of attended hours (%)", y_title="Component", height=320)
    widgets.chart_section(ctx, "mix_overall", build, anchor="shares-of-attended-minutes", table_df=table,
                          name="therapy_mix", source=mix.therapy_mix_table)


def by_week() -> None:
    table = widgets.section_table(ctx, "How the mix changes over the program", mix.mix_by_program_week,
                                  empty="No attended sessions in program weeks 1 to 12 for this selection.")
    if table is None:
        return

    def build():
        fig = figures.stacked_share(_label(table), x="week_number", series="session_type", share="share",
                                   title="Share of attended hours by component, program weeks 1–12",
                                   colour_map=figures.COMPONENT_COLOURS,
                                   x_title="Program week", y_title="Share of attended hours (%)")
        fig.update_xaxes(type="category")
        fig.update_layout(legend_traceorder="normal")
        return fig
    widgets.chart_section(ctx, "mix_by_week", build, anchor="shares-of-attended-minutes", table_df=table,
                          name="therapy_mix_by_program_week", source=mix.mix_by_program_week)


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
    widgets.chart_section(ctx, "mix_by_dim", build, dim, anchor="shares-of-attended-minutes", table_df=table,
                          name=f"therapy_mix_by_{dim}", source=mix.mix_by)


def reach() -> None:
    table = widgets.section_table(ctx, "Episodes that received each component", mix.component_reach,
                                  empty="No selected episode attended any session yet.")
    if table is None:
        return
    shown = _label(table)

    def build():
        return _component_bars(shown, "reach", category_order=ORDER,
                               title="Share of episodes that attended each component at least once",
                               x_title="Component", y_title="Share of episodes (%)", height=340)
    widgets.chart_section(ctx, "mix_reach", build, anchor="component-reach", table_df=table,
                          name="component_reach", source=mix.component_reach)


for section, name in ((overall, "Therapy mix"), (by_week, "Mix by program week"), (compared, "Mix compared"),
                      (reach, "Component reach")):
    widgets.guarded(section, name)
