"""Definitions come from one source: each page's "How this is computed" note is a section of
docs/metrics.md or docs/qi.md, found by its anchor, and the packet's appendix is both docs."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analytics.report import definitions

REPO_ROOT = Path(__file__).resolve().parent.parent


# widgets that show a "How this is computed" note for their anchor= (a docs/metrics.md section)
SECTION_WIDGETS = ("chart_section", "table_and_how")


def how_computed_calls() -> list[tuple[str, str, str]]:
    """(page, doc, anchor) for every widgets.how_computed(...) call in pages/, and every section
    widget's anchor=."""
    calls = []
    for page in sorted((REPO_ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(page.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in SECTION_WIDGETS:
                anchors = [k.value for k in node.keywords if k.arg == "anchor"]
                assert all(isinstance(a, ast.Constant) for a in anchors), f"{page.name}: anchor= takes a literal"
                calls += [(page.name, definitions.METRICS, a.value) for a in anchors]
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "how_computed":
                args = [a.value for a in node.args]
                args += [k.value.value for k in node.keywords if k.arg == "doc"]
                assert all(isinstance(a, str) for a in args), f"{page.name}: how_computed takes literal strings"
                calls.append((page.name, args[1] if len(args) > 1 else definitions.METRICS, args[0]))
    return calls


def test_every_page_explains_its_figures():
    pages = {page for page, _, _ in how_computed_calls()}
    assert pages == {p.name for p in (REPO_ROOT / "pages").glob("*.py")}


@pytest.mark.parametrize("page,doc,anchor", how_computed_calls())
def test_every_how_computed_anchor_exists_in_its_doc(page, doc, anchor):
    assert doc in definitions.DOCS, f"{page}: {doc} is not a definitions doc"
    assert anchor in definitions.sections(doc), f"{page}: {doc} has no heading with the anchor #{anchor}"
    assert definitions.section(doc, anchor).strip(), f"{page}: {doc}#{anchor} is empty"


@pytest.mark.parametrize("heading,anchor", [
    ("Data coverage", "data-coverage"),
    ("Control charts (analytics/spc.py)", "control-charts-analyticsspcpy"),
    ("Targets (analytics/targets.py, config/iop.toml [targets])", "targets-analyticstargetspy-configioptoml-targets"),
    ("Time in program by discharge reason", "time-in-program-by-discharge-reason"),
])
def test_anchors_are_githubs(heading, anchor):
    assert definitions.heading_anchor(heading) == anchor


def test_a_section_runs_to_the_next_heading_of_its_level_and_keeps_its_subsections():
    whole = definitions.section(definitions.METRICS, "outcomes")
    assert "### Readmission" in whole and "## Sessions" not in whole
    readmission = definitions.section(definitions.METRICS, "readmission")
    assert readmission.startswith("**Readmission within 30 / 90 days**")
    assert "### Discharge reasons over time" not in readmission
    with pytest.raises(KeyError, match="no-such-section"):
        definitions.section(definitions.METRICS, "no-such-section")


def test_appendix_escapes_raw_html_and_holds_both_docs():
    out = definitions.markdown_to_html("Text <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n")
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    appendix = definitions.appendix_html()
    assert "<h3>Metrics: definitions</h3>" in appendix and "<h3>QI toolkit: definitions</h3>" in appendix
