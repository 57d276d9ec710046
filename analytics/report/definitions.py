"""The definitions in docs/metrics.md and docs/qi.md: one source for the pages and the packet.

A page's "How this is computed" note is the section of the doc it links to, found
by its anchor (GitHub's, from the heading); the packet's appendix is both docs as
HTML. Markdown is rendered by markdown-it (CommonMark) with raw HTML switched off,
so any markup written in a doc is shown as text, never passed through.

>>> section(METRICS, "readmission").splitlines()[0]
'**Readmission within 30 / 90 days** = ...'
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

from analytics.config import REPO_ROOT

METRICS = "docs/metrics.md"
QI = "docs/qi.md"
DOCS = (METRICS, QI)

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def heading_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens.

    >>> heading_anchor("Control charts (analytics/qi/spc.py)")
    'control-charts-analyticsqispcpy'
    """
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@dataclass(frozen=True)
class Section:
    doc: str
    anchor: str
    heading: str
    level: int
    body: str  # the Markdown under the heading, up to the next heading of the same or a higher level


@functools.cache
def sections(doc: str) -> dict[str, Section]:
    """Every section of a doc (METRICS or QI) by its anchor."""
    lines = (REPO_ROOT / doc).read_text(encoding="utf-8").splitlines()
    heads: list[tuple[int, int, str]] = []  # (line, level, heading)
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        found = None if fenced else _HEADING.match(line)
        if found:
            heads.append((i, len(found.group(1)), found.group(2)))
    out: dict[str, Section] = {}
    for n, (i, level, heading) in enumerate(heads):
        end = next((j for j, lvl, _ in heads[n + 1:] if lvl <= level), len(lines))
        key = heading_anchor(heading)
        out.setdefault(key, Section(doc, key, heading, level, "\n".join(lines[i + 1:end]).strip("\n")))
    return out


def section(doc: str, anchor: str) -> str:
    """The Markdown of the section of doc with this anchor (its subsections included).

    Raises KeyError naming the doc and the anchor when there is none (tests/test_definitions.py
    checks every anchor a page uses).
    """
    found = sections(doc).get(anchor)
    if found is None:
        raise KeyError(f"{doc} has no section with the anchor #{anchor}")
    return found.body


# -- HTML for the packet ------------------------------------------------------------
def _shifted_heading(self, tokens, idx, options, env):
    # The appendix sits under the packet's <h2>: a doc's "#" becomes <h3>.
    token = tokens[idx]
    token.tag = f"h{min(int(token.tag[1]) + env.get('heading_offset', 0), 6)}"
    return self.renderToken(tokens, idx, options, env)


def _compact_list(self, tokens, idx, options, env):
    # A list on one line (<ul><li>..</li></ul>), followed by a line break like any other block.
    token = tokens[idx]
    html = self.renderToken(tokens, idx, options, env)
    return html if token.nesting == -1 and token.level == 0 else html.rstrip("\n")


@functools.cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    for rule in ("heading_open", "heading_close"):
        md.add_render_rule(rule, _shifted_heading)
    for rule in ("bullet_list_open", "bullet_list_close", "ordered_list_open", "ordered_list_close",
                 "list_item_open", "list_item_close"):
        md.add_render_rule(rule, _compact_list)
    return md


def markdown_to_html(text: str, heading_offset: int = 2) -> str:
    """Markdown as HTML, with raw HTML in it escaped and headings moved down heading_offset levels.

    >>> markdown_to_html("# Title\\nA <b>x</b> and `code`")
    '<h3>Title</h3>\\n<p>A &lt;b&gt;x&lt;/b&gt; and <code>code</code></p>'
    """
    return _markdown().render(text, {"heading_offset": heading_offset}).rstrip("\n")


@functools.cache
def appendix_html() -> str:
    """Both docs as HTML, for the packet's definitions appendix."""
    return "\n".join(markdown_to_html((REPO_ROOT / doc).read_text(encoding="utf-8")) for doc in DOCS)
