"""The meeting packet's Clinical outcomes section: suppressed figures, the Jacobson-Truax plot
always binned (whoever builds the packet), the definitions from docs/metrics.md."""
from __future__ import annotations

import json
import re

import pytest

from analytics.filters import Filters, Scope
from analytics.report import packet as report
from analytics.store import open_store
from tests.test_analyst_view import TINY, _numbers

_NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{"displaylogo"', re.DOTALL)


def outcome_figures(html_text: str) -> list[dict]:
    """The figures of the Clinical outcomes section (up to the next section's heading)."""
    return [{"data": json.loads(d), "layout": json.loads(l)} for d, l in _NEWPLOT.findall(outcomes_section(html_text))]


def outcomes_section(html_text: str) -> str:
    """The packet's HTML from the Clinical outcomes heading to the next section's heading."""
    start = html_text.index("<h2>Clinical outcomes</h2>")
    return html_text[start:html_text.index("<h2>", start + 1)]


def notes(html_text: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", outcomes_section(html_text), re.DOTALL)


@pytest.fixture(scope="module")
def whole(sample_store_path) -> str:
    return report.build_report_html(open_store(sample_store_path), Filters(), Scope(), generated_by="tester")


def test_the_section_binns_the_plot_even_for_a_director(whole):
    figs = outcome_figures(whole)
    titles = [f["layout"]["title"]["text"] for f in figs]
    binned = [f for f in figs if "pairs per cell" in f["layout"]["title"]["text"]]
    assert {t.split(":")[0] for t in titles if "pairs per cell" in t} == {"PHQ-9", "GAD-7"}
    assert not [t for f in figs for t in f["data"] if t.get("name") == "Episodes"], "points in the packet"
    for fig in binned:
        (heat,) = [t for t in fig["data"] if t["type"] == "heatmap"]
        texts = [v for row in heat["text"] for v in row]
        assert "<11" in texts
        assert all(v == "<11" or int(v.replace(",", "")) == 0 or int(v.replace(",", "")) >= 11 for v in texts)
        assert all(n >= 11 for n in _numbers(heat["z"]) if n == n)
    assert any("mean score by program week" in t for t in titles)
    assert any("share positive by program week" in t for t in titles)
    phq9 = next(n for n in notes(whole) if n.startswith("PHQ-9:"))
    assert re.match(r"PHQ-9: pairs [\d,]+; reliable improvement [\d.]+%; recovery [\d.]+%; reliable deterioration "
                    r"(&lt;11|[\d.]+%); measurement completion [\d.]+%$", phq9), phq9


def test_a_tiny_site_shows_no_outcome_figure(sample_store_path):
    html_text = report.build_report_html(open_store(sample_store_path), Filters(sites=(TINY,)), Scope(),
                                         generated_by="tester")
    for fig in outcome_figures(html_text):
        for trace in fig["data"]:
            keys = ("z",) if trace["type"] == "heatmap" else ("y",)  # a heatmap's y are the cell edges
            shown = [n for key in keys for n in _numbers(trace.get(key)) if n == n]
            assert shown == [], fig["layout"]["title"]["text"]
    for note in notes(html_text):
        assert not re.search(r"(?<![\d.])[1-9](?![\d.%])|(?<![\d.])10(?![\d.%])", note.split(":", 1)[-1]), note


def test_definitions_come_from_the_docs(whole):
    appendix = whole[whole.index("<h2>Definitions</h2>"):]
    for heading in ("Clinical outcomes", "Pairs and change from baseline", "Measurement completion",
                    "Jacobson-Truax plot"):
        assert f">{heading}</h" in appendix, heading


def test_no_section_without_scores(store_without_scores, whole):
    with open_store(store_without_scores).read() as cur:
        assert cur.execute("SELECT count(*) FROM main.assessments").fetchone()[0] == 0
    html_text = report.build_report_html(open_store(store_without_scores), Filters(), Scope(), generated_by="tester")
    assert "<h2>Clinical outcomes</h2>" not in html_text
    assert "<h2>Clinical outcomes</h2>" in whole  # the check above can see the section
