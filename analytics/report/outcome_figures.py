"""Plotly figures of the clinical outcomes, shared by the Outcomes page and the QI packet.

- jacobson_truax_points(): baseline against follow-up, one marker per pair of scores
  (sized by the episodes on it), with the no-change diagonal, the reliable-change band
  and the caseness lines (patient-level: only for roles allowed to see it);
- jacobson_truax_grid(): the same plot binned into cells, hidden cells marked "<11"
  (what an analyst and the packet see);
- mean_by_week(), positivity_by_week(): the weekly means (or shares) with their 95%
  intervals and n in the hover text;
- change_categories(), recovery_by(): the change categories and recovery per group.

Scores are whole numbers, so the lines are drawn half a point off: the caseness line
between 9 and 10 for PHQ-9, the reliable-change band edges between a change of 5 and
of 6, and every point falls clearly on one side. No Streamlit here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.formatting import escape_html
from analytics.instruments import Instrument
from analytics.privacy.suppression import marker
from analytics.report import figures

IMPROVED, UNCHANGED, DETERIORATED = figures.OKABE_ITO[2], "#999999", figures.OKABE_ITO[3]
CATEGORY_NAMES = {
    "reliably_improved_share": "Reliably improved",
    "no_reliable_change_share": "No reliable change",
    "reliably_deteriorated_share": "Reliably deteriorated",
}
CATEGORY_COLOURS = {"Reliably improved": IMPROVED, "No reliable change": UNCHANGED,
                    "Reliably deteriorated": DETERIORATED}


def _label(instrument: Instrument) -> str:
    return escape_html(instrument.label)


def _reference_lines(fig: go.Figure, ins: Instrument) -> None:
    """The no-change diagonal, the reliable-change band and the caseness lines, in score units.

    Drawn as layout shapes (with legend entries), not traces: they are geometry, and a
    trace's numbers would read as figures of the data.
    """
    lo, hi = ins.min_score - 0.5, ins.max_score + 0.5
    if ins.reliable_change is not None:
        edge = ins.reliable_change - 0.5
        # the band |follow-up - baseline| < reliable change, clipped to the plot
        corners = [(lo, lo), (lo, lo + edge), (hi - edge, hi), (hi, hi), (hi, hi - edge), (lo + edge, lo)]
        path = "M " + " L ".join(f"{x},{y}" for x, y in corners) + " Z"
        fig.add_shape(type="path", path=path, fillcolor=figures.with_alpha(UNCHANGED, 0.18), line=dict(width=0),
                      layer="below", showlegend=True, name=f"No reliable change (less than {ins.reliable_change} points)")
    fig.add_shape(type="line", x0=lo, y0=lo, x1=hi, y1=hi, line=dict(color=figures.TARGET_COLOUR, dash="dash", width=1.5),
                  showlegend=True, name="No change")
    if ins.caseness is not None:
        at = ins.caseness + (0.5 if ins.higher_is_better else -0.5)
        words = f"at or {'below' if ins.higher_is_better else 'above'} {ins.caseness}"
        style = dict(color=figures.OKABE_ITO[4], dash="dot", width=1.5)
        fig.add_shape(type="line", x0=at, y0=lo, x1=at, y1=hi, line=style, showlegend=True,
                      name=f"Clinical range ({words})", legendgroup="caseness")
        fig.add_shape(type="line", x0=lo, y0=at, x1=hi, y1=at, line=style, legendgroup="caseness")


def _axes(fig: go.Figure, ins: Instrument, title: str) -> go.Figure:
    worse = "higher is worse" if not ins.higher_is_better else "higher is better"
    figures.style(fig, title, f"Baseline score ({worse})", "Follow-up score", height=520)
    rng = [ins.min_score - 0.5, ins.max_score + 0.5]
    # square, with both ranges kept: the plot shrinks to fit rather than stretching an axis
    fig.update_xaxes(range=rng, zeroline=False, constrain="domain")
    fig.update_yaxes(range=rng, zeroline=False, scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def _improvement_note(ins: Instrument) -> str:
    return "below the diagonal: improved" if not ins.higher_is_better else "above the diagonal: improved"


def jacobson_truax_points(points: pd.DataFrame, ins: Instrument) -> go.Figure:
    """points: baseline, followup, episodes (metrics.change.change_points)."""
    title = f"{_label(ins)}: baseline against follow-up ({_improvement_note(ins)})"
    if points.empty:
        return figures.empty_figure(title, "No pair of scores (two dates) for this selection.")
    fig = go.Figure()
    _reference_lines(fig, ins)
    size = 6 + 4 * np.sqrt(points["episodes"].to_numpy(dtype=float))
    fig.add_trace(go.Scatter(
        x=points["baseline"], y=points["followup"], mode="markers", name="Episodes",
        marker=dict(size=size, color=figures.OKABE_ITO[0], opacity=0.7, line=dict(color="#000", width=0.5)),
        customdata=points[["episodes"]].to_numpy(),
        hovertemplate="baseline %{x}, follow-up %{y}: %{customdata[0]:,} episode(s)<extra></extra>",
    ))
    return _axes(fig, ins, title)


def jacobson_truax_grid(grid: pd.DataFrame, ins: Instrument, *, suppressed_marker: str | None = None) -> go.Figure:
    """grid: baseline_from, baseline_to, followup_from, followup_to, episodes (metrics.change.change_grid),
    with hidden cells as NaN or a marker string; they are drawn blank and labelled with the marker."""
    shown_marker = suppressed_marker or marker()
    title = f"{_label(ins)}: baseline against follow-up, pairs per cell ({_improvement_note(ins)})"
    counts = pd.to_numeric(grid["episodes"], errors="coerce") if not grid.empty else pd.Series(dtype=float)
    if grid.empty or (counts.fillna(0) == 0).all() and not counts.isna().any():
        return figures.empty_figure(title, "No pair of scores (two dates) for this selection.")
    starts = sorted(grid["baseline_from"].unique())
    edges = [s - 0.5 for s in starts] + [ins.max_score + 0.5]
    z = (grid.assign(n=counts).pivot(index="followup_from", columns="baseline_from", values="n")
         .reindex(index=starts, columns=starts))
    text = z.map(lambda v: shown_marker if pd.isna(v) else f"{int(v):,}")
    # empty and hidden cells are left uncoloured; their text says which they are
    fig = go.Figure(go.Heatmap(
        x=edges, y=edges, z=z.where(z > 0).to_numpy(), text=text.to_numpy(), texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=float(counts.fillna(0).max()) or 1.0, showscale=True,
        colorbar=dict(title=dict(text="Pairs")),
        hovertemplate="baseline %{x}, follow-up %{y}: %{text} pair(s)<extra></extra>", xgap=1, ygap=1,
    ))
    _reference_lines(fig, ins)
    _axes(fig, ins, title)
    fig.add_annotation(text=f"Cells of {starts[1] - starts[0] if len(starts) > 1 else 1} points a side; "
                            f"{escape_html(shown_marker)}: a small count, hidden", xref="paper", yref="paper",
                       x=0, y=1.0, yanchor="bottom", showarrow=False, font=dict(size=11, color="#555"))
    return fig


def _weeks_shown(weeks: pd.DataFrame, value: str) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """The weeks whose value is shown (a hidden one reads '<11' and is left out), with the
    value and its interval's lo and hi as numbers."""
    shown = weeks[pd.to_numeric(weeks[value], errors="coerce").notna()] if not weeks.empty else weeks
    return (shown, shown[value].astype(float), pd.to_numeric(shown["lo"], errors="coerce"),
            pd.to_numeric(shown["hi"], errors="coerce"))


def _interval_bars(value: pd.Series, lo: pd.Series, hi: pd.Series, color: str) -> dict:
    """Plotly error bars from value down to lo and up to hi (an interval need not be symmetric)."""
    return dict(type="data", symmetric=False, array=(hi - value).to_numpy(), arrayminus=(value - lo).to_numpy(),
                color=color, thickness=1.2)


def mean_by_week(weeks: pd.DataFrame, ins: Instrument) -> go.Figure:
    """weeks: week, n, mean, lo, hi (metrics.score_weeks.scores_by_week); hidden weeks are left out."""
    title = f"{_label(ins)}: mean score by program week (95% interval)"
    shown, mean, lo, hi = _weeks_shown(weeks, "mean")
    if shown.empty:
        return figures.empty_figure(title, "No score to show for this selection.")
    fig = go.Figure(go.Scatter(
        x=shown["week"], y=mean, mode="lines+markers", name="Mean score",
        line=dict(color=figures.OKABE_ITO[0], width=2), marker=dict(size=7),
        error_y=_interval_bars(mean, lo, hi, figures.OKABE_ITO[0]),
        customdata=np.stack([shown["n"].astype(str), lo.round(1).astype(str), hi.round(1).astype(str)], axis=-1),
        hovertemplate="week %{x}: mean %{y:.1f} (95% interval %{customdata[1]} to %{customdata[2]}), "
                      "n %{customdata[0]} scores<extra></extra>",
    ))
    if ins.caseness is not None:
        figures.add_target_line(fig, ins.caseness, f"clinical range from {ins.caseness}")
    figures.style(fig, title, "Program week (week 1 starts on admission)", "Mean score", height=380)
    fig.update_xaxes(dtick=1, range=[0.5, 12.5])
    fig.update_yaxes(range=[ins.min_score, ins.max_score])
    return fig


def positivity_by_week(weeks: pd.DataFrame, label: str = "Drug screens") -> go.Figure:
    """weeks: week, screens, share, lo, hi (metrics.score_weeks.positivity_by_week); hidden weeks left out."""
    title = f"{escape_html(label)}: share positive by program week (95% interval)"
    shown, share, lo, hi = _weeks_shown(weeks, "share")
    if shown.empty:
        return figures.empty_figure(title, "No drug screen to show for this selection.")
    fig = go.Figure(go.Bar(
        x=shown["week"], y=share, name="Positive", marker_color=figures.OKABE_ITO[1],
        error_y=_interval_bars(share, lo, hi, "#333"),
        customdata=shown[["screens"]].astype(str).to_numpy(),
        hovertemplate="week %{x}: %{y:.1%} positive of %{customdata[0]} screens<extra></extra>",
    ))
    figures.style(fig, title, "Program week (week 1 starts on admission)", "Screens positive (%)", percent=True)
    fig.update_xaxes(dtick=1, range=[0.5, 12.5])
    fig.update_layout(showlegend=False)
    return fig


def change_categories(table: pd.DataFrame, dimension: str, ins: Instrument) -> go.Figure:
    """table: the dimension, the three _share columns (metrics.change.change_categories); a group
    with a hidden share is left out (its bar would not add up)."""
    title = f"{_label(ins)}: reliable change by {escape_html(dimension)} (share of pairs)"
    cols = list(CATEGORY_NAMES)
    shown = table.copy()
    if not shown.empty:
        values = shown[cols].apply(pd.to_numeric, errors="coerce")
        shown = shown[values.notna().all(axis=1)]
        shown[cols] = values[values.notna().all(axis=1)]
    if shown.empty:
        return figures.empty_figure(title, "No group with figures to show for this selection.")
    shown[dimension] = shown[dimension].map(lambda v: "(none)" if v is None or v != v else v)
    long = shown.melt(id_vars=[dimension], value_vars=cols, var_name="category", value_name="share")
    long["category"] = long["category"].map(CATEGORY_NAMES)
    fig = figures.stacked_share(long, dimension, "category", "share", title=title, x_title="Share of pairs (%)",
                                y_title=escape_html(dimension).capitalize(), horizontal=True,
                                colour_map=CATEGORY_COLOURS, height=max(300, 40 * shown[dimension].nunique() + 160))
    return fig


def recovery_by(table: pd.DataFrame, dimension: str, ins: Instrument) -> go.Figure:
    """table: the dimension, recovery_rate (metrics.change.change_categories); hidden rates left out."""
    title = f"{_label(ins)}: recovered, of the pairs starting in the clinical range, by {escape_html(dimension)}"
    shown = table.copy()
    rate = pd.to_numeric(shown["recovery_rate"], errors="coerce") if not shown.empty else pd.Series(dtype=float)
    shown = shown[rate.notna()].assign(recovery_rate=rate[rate.notna()])
    if shown.empty:
        return figures.empty_figure(title, "No group with a recovery rate to show for this selection.")
    shown[dimension] = shown[dimension].map(lambda v: "(none)" if v is None or v != v else v)
    fig = figures.bar_chart(shown, dimension, "recovery_rate", names={"recovery_rate": "Recovered"}, title=title,
                            x_title=escape_html(dimension).capitalize(), y_title="Recovered (%)", percent=True)
    fig.update_layout(showlegend=False)
    return fig
