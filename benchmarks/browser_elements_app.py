"""A page of N elements of one kind, for bench_browser.py --elements: what Streamlit costs per element.

Served as the main script of its own `streamlit run`; the sidebar's Sites choice changes
every element's content, as a site filter changes a dashboard page. The kind, the count and
the chart theme and a chart variant come from the environment (BENCH_KIND, BENCH_COUNT,
BENCH_THEME, BENCH_VARIANT).
"""
from __future__ import annotations

import os

import plotly.graph_objects as go
import streamlit as st

KIND = os.environ.get("BENCH_KIND", "metric")
COUNT = int(os.environ.get("BENCH_COUNT", "0"))
THEME = None if os.environ.get("BENCH_THEME") == "none" else "streamlit"
# A lighter chart to compare (kind:variant on the command line): "static" (no hover, zoom or
# mode bar), "nomodebar" (the mode bar hidden).
CONFIG = {"": {}, "static": {"staticPlot": True}, "nomodebar": {"displayModeBar": False}}[
    os.environ.get("BENCH_VARIANT", "")]

st.set_page_config(page_title="Element costs", layout="wide")
sites = st.sidebar.multiselect("Sites", ["Hillcrest", "Lakeview", "Riverside"], placeholder="All sites")
seed = sum(map(ord, "".join(sites)))
st.title("Element costs")


@st.cache_resource(max_entries=500)
def _figure(seed: int, i: int) -> go.Figure:
    # A sparkline like the Overview's: 24 monthly points, a title, white template.
    fig = go.Figure(go.Scatter(x=list(range(24)), y=[(seed * (j + 1) + i) % 17 for j in range(24)],
                               mode="lines+markers"))
    fig.update_layout(title=f"Chart {i}", height=200, margin={"l": 50, "r": 10, "t": 40, "b": 35},
                      template="plotly_white")
    return fig


columns = st.columns(3)
for i in range(COUNT):
    with columns[i % 3]:
        if KIND == "metric":
            st.metric(f"Metric {i}", f"{(seed + i) % 100}%", delta=f"{(seed - i) % 7}", border=True, help="Help")
        elif KIND == "caption":
            st.caption(f"Caption {i}: {seed}")
        elif KIND == "markdown":
            st.markdown(f"**Paragraph {i}** ({seed}) with *emphasis* and a [link](https://example.org). " * 3)
        elif KIND == "expander":
            with st.expander(f"Expander {i}"):
                st.markdown(f"Collapsed text {i}. " * 60)
        elif KIND == "dataframe":
            st.dataframe({"n": [seed + i + j for j in range(10)], "label": [f"row {j}" for j in range(10)]})
        elif KIND == "plotly":
            st.plotly_chart(_figure(seed, i), key=f"chart_{i}", theme=THEME, config={"displaylogo": False, **CONFIG})
