"""Plotly figure builders: small DataFrames in, figures out. No Streamlit, no SQL, no metrics.

Every figure gets a title and axis titles with units, and uses the Okabe-Ito
palette (distinguishable with the common colour-vision deficiencies). The
dashboard and the QI packet draw with the same builders, so a chart looks the
same in both. Text from the data (site, program, clinician names) is escaped with
analytics.formatting.escape_html, since Plotly renders a subset of HTML in labels,
legends and hover text; it shows the escaped form as text.

>>> fig = line_chart(df, x="month", y="attendance_rate", title="Attendance rate by month",
...                  x_title="Month", y_title="Attendance rate (%)", percent=True)
"""
from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.formatting import escape_html

# Okabe & Ito (2008), "Color Universal Design": safe for protan, deutan and tritan vision.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
TARGET_COLOUR = "#555555"
SIGNAL_COLOUR = "#D55E00"
# The five components by their session_type, and fixed colours by label, so a component
# reads and looks the same on every chart.
COMPONENT_LABELS = {
    "group": "Group therapy", "individual": "Individual counselling", "family": "Family therapy",
    "relapse_prevention": "Relapse prevention", "life_skills": "Life skills",
}
COMPONENT_COLOURS = {
    "Group therapy": OKABE_ITO[0], "Individual counselling": OKABE_ITO[1], "Family therapy": OKABE_ITO[2],
    "Relapse prevention": OKABE_ITO[4], "Life skills": OKABE_ITO[5],
}
# TEDS-D discharge reasons: planned endings in blues/greens, unplanned in warm colours.
REASON_LABELS = {
    "completed": "Completed", "transferred": "Transferred", "dropped_out": "Dropped out",
    "terminated": "Terminated by facility", "incarcerated": "Incarcerated", "death": "Death", "other": "Other",
}
REASON_COLOURS = {
    "Completed": OKABE_ITO[0], "Transferred": OKABE_ITO[5], "Dropped out": OKABE_ITO[3],
    "Terminated by facility": OKABE_ITO[1], "Incarcerated": OKABE_ITO[4], "Death": OKABE_ITO[7],
    "Other": "#999999",
}
FONT = dict(family="sans-serif", size=13, color="#1B1F24")


def colour(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def with_alpha(hex_colour: str, alpha: float) -> str:
    """'rgba(r,g,b,a)' for a '#rrggbb' colour (confidence bands)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def style(fig: go.Figure, title: str, x_title: str, y_title: str, *, percent: bool = False,
          height: int = 380, legend_title: str | None = None) -> go.Figure:
    """Title, axis titles, palette, fonts and margins shared by every figure."""
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"),
        font=FONT,
        colorway=list(OKABE_ITO),
        template="plotly_white",
        height=height,
        margin=dict(l=60, r=20, t=60, b=120),
        # Legend at the foot of the figure, under the x-axis title: at the top it would
        # wrap into the title on a narrow column.
        legend=dict(title=dict(text=legend_title or ""), orientation="h", yref="container", yanchor="bottom",
                    y=0.0, xanchor="left", x=0.0),
        hoverlabel=dict(namelength=-1),
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    if percent:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def _groups(df: pd.DataFrame, color: str | None) -> Iterable[tuple[str | None, pd.DataFrame]]:
    if color is None or color not in df.columns:
        yield None, df
        return
    # Groups in order of first appearance: the caller's row order sets the legend and stack order.
    for name, part in df.groupby(color, sort=False, dropna=False):
        yield escape_html(name), part


# Series outside a fixed colour map (e.g. a session type beyond the five components) get greys,
# so they never borrow a component's colour.
OTHER_COLOURS: tuple[str, ...] = ("#999999", "#555555", "#CCCCCC", "#333333")


def _series_colour(label: str, i: int, colour_map: dict[str, str] | None, extra_seen: list[str]) -> str:
    if colour_map is None:
        return colour(i)
    if label in colour_map:
        return colour_map[label]
    if label not in extra_seen:
        extra_seen.append(label)
    return OTHER_COLOURS[extra_seen.index(label) % len(OTHER_COLOURS)]


def add_target_line(fig: go.Figure, value: float | None, label: str, *, axis: str = "y",
                    row: int | None = None, col: int | None = None, position: str | None = None) -> go.Figure:
    """A dashed target line with its label (horizontal for axis "y", vertical for "x")."""
    if value is None:
        return fig
    kwargs = dict(line_dash="dash", line_color=TARGET_COLOUR, line_width=1.5,
                  annotation_text=label, annotation_font_color=TARGET_COLOUR)
    if row is not None:
        kwargs.update(row=row, col=col)
    if axis == "y":
        fig.add_hline(y=value, annotation_position=position or "top left", **kwargs)
    else:
        fig.add_vline(x=value, annotation_position=position or "top right", **kwargs)
    return fig


def line_chart(df: pd.DataFrame, x: str, y: str | Sequence[str], *, title: str, x_title: str,
               y_title: str, color: str | None = None, names: dict[str, str] | None = None,
               percent: bool = False, target: float | None = None, target_label: str = "Target",
               markers: bool = True, hover_n: str | None = None, height: int = 380) -> go.Figure:
    """Lines of y against x: one per value of `color`, or one per column when y is a list.

    names maps a column to its legend label; hover_n adds a count column to the hover text.
    """
    fig = go.Figure()
    ys = [y] if isinstance(y, str) else list(y)
    i = 0
    for col_name in ys:
        for group, part in _groups(df, color):
            part = part.sort_values(x)
            label = group if group is not None else (names or {}).get(col_name, col_name)
            if group is not None and len(ys) > 1:
                label = f"{group}: {(names or {}).get(col_name, col_name)}"
            custom = part[[hover_n]].to_numpy() if hover_n and hover_n in part.columns else None
            fig.add_trace(go.Scatter(
                x=part[x], y=part[col_name], name=label, mode="lines+markers" if markers else "lines",
                line=dict(color=colour(i), width=2), marker=dict(size=5), customdata=custom,
                hovertemplate=("%{y:.1%}" if percent else "%{y:,.2f}")
                + (f"<br>{hover_n} %{{customdata[0]:,}}" if custom is not None else "")
                + "<extra>%{fullData.name}</extra>",
            ))
            i += 1
    add_target_line(fig, target, target_label)
    return style(fig, title, x_title, y_title, percent=percent, height=height)


def bar_chart(df: pd.DataFrame, x: str, y: str | Sequence[str], *, title: str, x_title: str,
              y_title: str, color: str | None = None, names: dict[str, str] | None = None,
              percent: bool = False, barmode: str = "group", horizontal: bool = False,
              target: float | None = None, target_label: str = "Target",
              category_order: Sequence[str] | None = None, height: int = 380,
              colour_map: dict[str, str] | None = None) -> go.Figure:
    """Bars of y by x (grouped or stacked), one series per `color` value or per y column.

    colour_map fixes a series' colour by its label (e.g. COMPONENT_COLOURS)."""
    fig = go.Figure()
    ys = [y] if isinstance(y, str) else list(y)
    i = 0
    extra_seen: list[str] = []
    for col_name in ys:
        for group, part in _groups(df, color):
            label = group if group is not None else (names or {}).get(col_name, col_name)
            cat, val = part[x].map(escape_html), part[col_name]
            fig.add_trace(go.Bar(
                x=val if horizontal else cat, y=cat if horizontal else val, name=label,
                orientation="h" if horizontal else "v", marker_color=_series_colour(label, i, colour_map, extra_seen),
                hovertemplate=("%{" + ("x" if horizontal else "y") + (":.1%}" if percent else ":,.2f}"))
                + "<extra>%{fullData.name}</extra>",
            ))
            i += 1
    fig.update_layout(barmode=barmode)
    if category_order is not None:
        axis = fig.update_yaxes if horizontal else fig.update_xaxes
        axis(categoryorder="array", categoryarray=[escape_html(c) for c in category_order])
    if horizontal:
        style(fig, title, x_title, y_title, height=height)
        if percent:
            fig.update_xaxes(tickformat=".0%", rangemode="tozero")
        add_target_line(fig, target, target_label, axis="x")
        return fig
    add_target_line(fig, target, target_label)
    return style(fig, title, x_title, y_title, percent=percent, height=height)


def sparkline(df: pd.DataFrame, x: str, y: str, *, title: str, y_title: str, percent: bool = False,
              target: float | None = None) -> go.Figure:
    """A small monthly trend under a KPI tile (still titled and labelled)."""
    fig = go.Figure(go.Scatter(
        x=df[x], y=df[y], mode="lines+markers", line=dict(color=OKABE_ITO[0], width=2), marker=dict(size=4),
        hovertemplate="%{x}: " + ("%{y:.1%}" if percent else "%{y:,.1f}") + "<extra></extra>",
    ))
    add_target_line(fig, target, "")
    style(fig, title, "Month", y_title, percent=percent, height=200)
    fig.update_layout(margin=dict(l=50, r=10, t=40, b=35), showlegend=False, font=dict(size=11),
                      title=dict(font=dict(size=13)))
    return fig


def _at_risk_text(value: object) -> str:
    """A number at risk as text; a hidden one (NaN after small-cell suppression) as '<11'."""
    if value is None or pd.isna(value):
        from analytics.privacy.suppression import marker

        return marker()
    return f"{int(value):,}"


def retention_curves(df: pd.DataFrame, *, group: str, title: str, y_title: str,
                     x: str = "week", y: str = "survival", lo: str | None = "lo", hi: str | None = "hi",
                     at_risk: str | None = "at_risk", x_title: str = "Weeks since admission",
                     target: float | None = None, target_label: str = "Target") -> go.Figure:
    """Step curves per group with a shaded confidence band and the number at risk beneath.

    df: one row per (group, week) with the estimate, its band and the number at
    risk at the start of that week; rows already cut where too few remain.
    """
    has_table = at_risk is not None and at_risk in df.columns
    fig = make_subplots(rows=2 if has_table else 1, cols=1, shared_xaxes=True,
                        row_heights=[0.78, 0.22] if has_table else [1.0], vertical_spacing=0.06)
    groups = list(_groups(df, group))
    for i, (name, part) in enumerate(groups):
        part = part.sort_values(x)
        c = colour(i)
        label = name or "All selected"
        if lo and hi and lo in part.columns and hi in part.columns:
            fig.add_trace(go.Scatter(x=part[x], y=part[hi], mode="lines", line=dict(width=0, shape="hv"),
                                     showlegend=False, hoverinfo="skip", legendgroup=label), row=1, col=1)
            fig.add_trace(go.Scatter(x=part[x], y=part[lo], mode="lines", line=dict(width=0, shape="hv"),
                                     fill="tonexty", fillcolor=with_alpha(c, 0.18), showlegend=False,
                                     hoverinfo="skip", legendgroup=label), row=1, col=1)
        custom = part[[at_risk]].to_numpy() if has_table else None
        fig.add_trace(go.Scatter(
            x=part[x], y=part[y], mode="lines", name=label, legendgroup=label,
            line=dict(color=c, width=2.5, shape="hv"), customdata=custom,
            hovertemplate="week %{x}: %{y:.1%}" + (" (at risk %{customdata[0]:,})" if has_table else "")
            + "<extra>%{fullData.name}</extra>",
        ), row=1, col=1)
        if has_table:
            fig.add_trace(go.Scatter(
                x=part[x], y=[label] * len(part), mode="text", text=[_at_risk_text(v) for v in part[at_risk]],
                textfont=dict(color=c, size=11), showlegend=False, hoverinfo="skip",
            ), row=2, col=1)
    add_target_line(fig, target, target_label, row=1, col=1)
    style(fig, title, "", y_title, height=460 + (18 * max(0, len(groups) - 2) if has_table else 0))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=1)
    if has_table:
        fig.update_yaxes(title_text="", autorange="reversed", showgrid=False, row=2, col=1)
        fig.add_annotation(text="Number at risk (episodes) at the start of each week", xref="paper",
                           yref="paper", x=0, y=0.235, xanchor="left", yanchor="bottom", showarrow=False,
                           font=dict(size=11, color="#555"))
        fig.update_xaxes(title_text=x_title, dtick=1, row=2, col=1)
    else:
        fig.update_xaxes(title_text=x_title, dtick=1)
    fig.update_xaxes(dtick=1, row=1, col=1, title_text="")
    return fig


def heatmap(df: pd.DataFrame, x: str, y: str, z: str, *, title: str, x_title: str, y_title: str,
            z_title: str, percent: bool = True, text_n: str | None = None) -> go.Figure:
    """A heatmap of z over (x, y), in a sequential colour-blind-safe scale (cividis)."""
    grid = df.pivot_table(index=y, columns=x, values=z, aggfunc="first").sort_index()
    text = None
    if text_n and text_n in df.columns:
        text = df.pivot_table(index=y, columns=x, values=text_n, aggfunc="first").reindex_like(grid)
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[escape_html(c) for c in grid.columns], y=[escape_html(i) for i in grid.index],
        colorscale="Cividis", zmin=0 if percent else None, zmax=1 if percent else None,
        colorbar=dict(title=dict(text=z_title), tickformat=".0%" if percent else None),
        customdata=None if text is None else text.to_numpy(),
        hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}: " + ("%{z:.1%}" if percent else "%{z:,.2f}")
        + ("<br>n %{customdata:,}" if text is not None else "") + "<extra></extra>",
    ))
    style(fig, title, x_title, y_title, height=max(360, 22 * len(grid) + 140))
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_xaxes(type="category")
    return fig


def stacked_share(df: pd.DataFrame, x: str, series: str, share: str, *, title: str, x_title: str,
                  y_title: str, horizontal: bool = False, category_order: Sequence[str] | None = None,
                  height: int = 400, colour_map: dict[str, str] | None = None) -> go.Figure:
    """100 % stacked bars: the share of each series within each x value."""
    fig = bar_chart(df, x, share, color=series, title=title, x_title=x_title, y_title=y_title,
                    percent=not horizontal, barmode="stack", horizontal=horizontal,
                    category_order=category_order, height=height, colour_map=colour_map)
    if horizontal:
        fig.update_xaxes(tickformat=".0%", range=[0, 1])
    else:
        fig.update_yaxes(range=[0, 1])
    return fig


def histogram_bins(df: pd.DataFrame, lo: str, hi: str, count: str, *, title: str, x_title: str,
                   y_title: str, color: str | None = None, targets: dict[str, float] | None = None) -> go.Figure:
    """A histogram from precomputed bins [lo, hi) with a count each, and target lines.

    A bin whose count is missing (hidden by small-cell suppression) is not drawn at all.
    """
    fig = go.Figure()
    df = df[pd.to_numeric(df[count], errors="coerce").notna()]
    for i, (group, part) in enumerate(_groups(df, color)):
        width = (part[hi] - part[lo]).astype(float)
        fig.add_trace(go.Bar(
            x=(part[lo] + part[hi]) / 2, y=part[count], width=width, name=group or "All selected",
            marker_color=colour(i), marker_line_width=0,
            customdata=part[[lo, hi]].to_numpy(),
            hovertemplate="%{customdata[0]}–%{customdata[1]} h: %{y:,}<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(barmode="stack", bargap=0)
    # The lower target's label to the left of its line, the next to the right: they never overlap.
    for j, (label, value) in enumerate(sorted((targets or {}).items(), key=lambda kv: kv[1])):
        add_target_line(fig, value, label, axis="x", position="top left" if j % 2 == 0 else "top right")
    return style(fig, title, x_title, y_title)


def box_from_quantiles(df: pd.DataFrame, group: str, *, q1: str, median: str, q3: str,
                       lower: str | None = None, upper: str | None = None, title: str, x_title: str,
                       y_title: str, category_order: Sequence[str] | None = None,
                       colour_map: dict[str, str] | None = None) -> go.Figure:
    """Box plots drawn from precomputed quartiles (the rows never leave DuckDB)."""
    fig = go.Figure()
    for i, (_, row) in enumerate(df.iterrows()):
        fig.add_trace(go.Box(
            name=escape_html(row[group]), x=[escape_html(row[group])], q1=[row[q1]], median=[row[median]], q3=[row[q3]],
            lowerfence=[row[lower]] if lower else [row[q1]], upperfence=[row[upper]] if upper else [row[q3]],
            marker_color=(colour_map or {}).get(str(row[group]), colour(i)), showlegend=False,
        ))
    if category_order is not None:
        fig.update_xaxes(categoryorder="array", categoryarray=[escape_html(c) for c in category_order])
    return style(fig, title, x_title, y_title)


def control_chart(points: pd.DataFrame, *, title: str, y_title: str, x_title: str = "Period (month or week starting)",
                  percent: bool = True, interventions: pd.DataFrame | None = None,
                  target: float | None = None, target_label: str = "Target") -> go.Figure:
    """A control chart: values, centre line, limits, signal points, baseline shading, interventions.

    points: period, label, value, cl, lcl, ucl, in_baseline, signal (see analytics.spc.ControlChart);
    interventions: on_date, title.
    """
    fig = go.Figure()
    if points.empty:
        return style(fig, title, x_title, y_title, percent=percent)
    x = points["period"]
    fmt = ".1%" if percent else ",.2f"
    for col, name, dash in (("ucl", "Upper limit (3σ)", "dot"), ("lcl", "Lower limit (3σ)", "dot"),
                            ("cl", "Centre line", "solid")):
        fig.add_trace(go.Scatter(x=x, y=points[col], mode="lines", name=name,
                                 line=dict(color=TARGET_COLOUR if col != "cl" else OKABE_ITO[2], dash=dash,
                                           width=1.5, shape="hvh" if col != "cl" else "linear"),
                                 hovertemplate=f"%{{y:{fmt}}}<extra>{name}</extra>"))
    fig.add_trace(go.Scatter(x=x, y=points["value"], mode="lines+markers", name="Value",
                             line=dict(color=OKABE_ITO[0], width=2), marker=dict(size=6),
                             customdata=points[["label"]].to_numpy(),
                             hovertemplate=f"%{{customdata[0]}}: %{{y:{fmt}}}<extra></extra>"))
    sig = points[points["signal"].astype(bool)]
    if not sig.empty:
        fig.add_trace(go.Scatter(x=sig["period"], y=sig["value"], mode="markers", name="Special cause",
                                 marker=dict(color=SIGNAL_COLOUR, size=11, symbol="diamond",
                                             line=dict(color="#000", width=1)),
                                 hovertemplate=f"%{{y:{fmt}}}<extra>signal</extra>"))
    base = points[points["in_baseline"].astype(bool)]
    if not base.empty and len(base) < len(points):
        fig.add_vrect(x0=base["period"].min(), x1=base["period"].max(), fillcolor="#999999", opacity=0.10,
                      line_width=0, annotation_text="baseline", annotation_position="top left")
    if interventions is not None and not interventions.empty:
        for _, row in interventions.iterrows():
            fig.add_vline(x=pd.Timestamp(row["on_date"]).timestamp() * 1000, line_dash="dashdot",
                          line_color=OKABE_ITO[4], line_width=1.5)
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(interventions["on_date"]), y=[points["ucl"].max()] * len(interventions),
            mode="markers", name="Intervention", marker=dict(symbol="triangle-down", size=12, color=OKABE_ITO[4]),
            text=interventions["title"].astype(str), hovertemplate="%{x|%d %b %Y}: %{text}<extra></extra>",
        ))
    add_target_line(fig, target, target_label)
    return style(fig, title, x_title, y_title, percent=percent, height=400)


def funnel_plot(points: pd.DataFrame, curve: pd.DataFrame, p0: float | None, *, title: str,
                x_title: str, y_title: str, unit_label: str = "Unit") -> go.Figure:
    """A funnel plot: each unit's rate by volume, with 95 % and 99.8 % limits around p0."""
    fig = go.Figure()
    if points.empty or p0 is None:
        return style(fig, title, x_title, y_title, percent=True)
    for lo, hi, name, dash in (("lo998", "hi998", "99.8% limits", "dash"), ("lo95", "hi95", "95% limits", "dot")):
        for col, show in ((lo, True), (hi, False)):
            fig.add_trace(go.Scatter(x=curve["n"], y=curve[col], mode="lines", name=name, showlegend=show,
                                     legendgroup=name, line=dict(color=TARGET_COLOUR, dash=dash, width=1.2),
                                     hoverinfo="skip"))
    fig.add_hline(y=p0, line_color=OKABE_ITO[2], line_width=1.5, annotation_text=f"overall {p0:.1%}",
                  annotation_position="top left")
    flag_colours = {"": OKABE_ITO[0], "alert": OKABE_ITO[1], "alarm": SIGNAL_COLOUR}
    flag_names = {"": "within limits", "alert": "beyond 95%", "alarm": "beyond 99.8%"}
    for flag, part in points.groupby("flag", sort=False):
        fig.add_trace(go.Scatter(
            x=part["n"], y=part["p"], mode="markers", name=flag_names.get(flag, flag),
            marker=dict(size=10, color=flag_colours.get(flag, OKABE_ITO[0]),
                        symbol="circle" if not flag else "diamond", line=dict(color="#000", width=0.5)),
            text=part["unit"].astype(str),
            hovertemplate=f"{unit_label} %{{text}}: %{{y:.1%}} of %{{x:,}}<extra></extra>",
        ))
    style(fig, title, x_title, y_title, percent=True, height=420)
    # Zoom to the units and the limits around p0: from 0% the funnel would be a thin band.
    fig.update_yaxes(rangemode="normal")
    return fig


def empty_figure(title: str, message: str) -> go.Figure:
    """A figure that says in words why there is nothing to draw (never a blank chart)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=14, color="#555"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, title, "", "", height=220)
