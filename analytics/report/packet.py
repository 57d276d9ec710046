"""The QI meeting packet: one self-contained HTML file (and a PDF of it) that can leave the room.

- Opens offline: Plotly's JavaScript is embedded once, inline; no external src or href.
- Every count and rate is small-cell suppressed (analytics/suppression.py), whoever asks.
- Every text that came from imported files (site, program, clinician names, filter
  values, intervention titles) is HTML-escaped, in the page and in the figures.
- It has no patient-level rows: the at-risk list is never in it.

$ python -m analytics report --db store.duckdb --out packet.html --pdf packet.pdf --program "Adult IOP"
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from analytics.config import REPO_ROOT
from analytics.report import figures
from analytics.report import qi_figures
from analytics.metrics import dose
from analytics.qi import funnel
from analytics.metrics import mix
from analytics.metrics import discharges
from analytics.qi import periods
from analytics.metrics import retention
from analytics.metrics import sessions
from analytics.qi import spc
from analytics.qi import targets
from analytics.privacy.audit import record
from analytics.config import suppression_threshold
from analytics.filters import Filters, Scope
from analytics.qi.interventions import list_interventions
from analytics.store import Store, bind_filters
from analytics.privacy.suppression import (
    RateSpec, SuppressionSpec, is_hidden, marker, suppress_control_chart, suppress_funnel, suppress_kpis,
    suppress_table,
)

DEFINITION_FILES = (REPO_ROOT / "docs" / "metrics.md", REPO_ROOT / "docs" / "qi.md")
# Control charts whose x and n count episodes (the others count sessions or hours).
EPISODE_CHARTS = {"completion_month", "retention_week_4_month"}
FUNNEL_MEASURES = ("completion_rate", "attendance_rate", "retention_week_4")
FUNNEL_UNITS = ("site", "clinician")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def esc(value: object) -> str:
    """Escape any text for HTML (imported names can hold markup)."""
    return html.escape("" if value is None else str(value), quote=True)


# -- KPI tiles --------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: object  # number, None or a suppression marker
    kind: str  # "count", "percent", "hours"
    status: str | None  # green / amber / red / None
    target: str = ""


TILE_LABELS = {
    "active_episodes": ("Active census", "count"),
    "episodes": ("Episodes", "count"),
    "discharged": ("Discharged", "count"),
    "completion_rate": ("Completion rate", "percent"),
    "retention_week_4": ("Retention at week 4", "percent"),
    "retention_week_8": ("Retention at week 8", "percent"),
    "retention_week_12": ("Retention at week 12", "percent"),
    "attendance_rate": ("Attendance rate", "percent"),
    "no_show_rate": ("No-show rate", "percent"),
    "dose_target_met_rate": ("Dose target met (weeks)", "percent"),
    "median_weekly_hours": ("Median weekly hours", "hours"),
}


def kpi_values(cur) -> dict[str, object]:
    """The overview KPIs and the counts behind them, from the functions that define them."""
    out = discharges.outcome_summary(cur)
    ret, _ = retention.headline(cur, (4, 8, 12)) if out.episodes else ({}, {})
    rates = sessions.session_rates(cur)
    dosage = dose.dose_summary(cur)
    return {
        "active_episodes": out.active_episodes, "episodes": out.episodes, "discharged": out.discharged,
        "completed": out.completed, "completion_rate": out.completion_rate,
        "retention_week_4": ret.get("week_4"), "retention_week_8": ret.get("week_8"),
        "retention_week_12": ret.get("week_12"),
        "attendance_rate": rates.attendance_rate, "no_show_rate": rates.no_show_rate,
        "dose_target_met_rate": dosage.dose_target_met_rate,
        "median_weekly_hours": dosage.median_weekly_hours,
        "patients": out.patients, "session_patients": rates.patients, "dose_patients": dosage.patients,
    }


def suppressed_tiles(values: dict[str, object], threshold: int) -> list[Tile]:
    """KPI tiles with suppression applied and target status for what is shown."""
    episode_spec = SuppressionSpec(
        counts=("active_episodes", "episodes", "discharged"),
        rates=(RateSpec("completion_rate", "completed", "discharged"), RateSpec("retention_week_4"),
               RateSpec("retention_week_8"), RateSpec("retention_week_12")),
        group_size="patients", column_totals=False,
        # episodes = active + discharged: one hidden alone could be worked out
        row_groups=(("active_episodes", "discharged", "episodes"),),
    )
    shown = suppress_kpis(values, episode_spec, threshold)
    for rate, group in (("attendance_rate", "session_patients"), ("no_show_rate", "session_patients"),
                        ("dose_target_met_rate", "dose_patients"), ("median_weekly_hours", "dose_patients")):
        part = suppress_kpis({rate: values[rate], "g": values[group]},
                             SuppressionSpec(rates=(RateSpec(rate),), group_size="g", column_totals=False), threshold)
        shown[rate] = part[rate]
    tiles = []
    for key, (label, kind) in TILE_LABELS.items():
        value = shown.get(key)
        target = targets.target_for(key)
        tiles.append(Tile(key, label, value, kind, None if is_hidden(value) else targets.status(key, value),
                          target.describe() if target else ""))
    return tiles


def format_value(value: object, kind: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, str):
        return value  # a suppression marker
    if kind == "percent":
        return f"{100 * float(value):.1f}%"
    if kind == "hours":
        return f"{float(value):.1f} h"
    return f"{int(value):,}"


# -- figures ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Section:
    title: str
    figures: tuple[go.Figure, ...] = ()
    notes: tuple[str, ...] = ()  # plain text, escaped when written
    table_html: str = ""  # already escaped


def _control_sections(cur, interventions, threshold, baseline_start, baseline_end, laney,
                      programs: list[str]) -> Section:
    chart_set = spc.standard_charts(cur, baseline_start=baseline_start, baseline_end=baseline_end, laney=laney)
    figures, notes = [], []
    hours_target = targets.dose_hours_target(programs) if programs else None
    for key, chart in chart_set.items():
        safe = suppress_control_chart(chart, person_counts=key in EPISODE_CHARTS, threshold=threshold)
        fig = qi_figures.control_chart_figure(
            safe, interventions, target=hours_target if chart.metric == "median_weekly_hours" else None,
            suppressed_marker=marker(threshold))
        figures.append(fig)
        notes.append(f"{chart.title}: " + ("; ".join(safe.signals) if safe.signals else "no special-cause signal."))
    return Section("Control charts", tuple(figures), tuple(notes))


def _funnel_section(cur, threshold) -> Section:
    figures, notes = [], []
    for measure in FUNNEL_MEASURES:
        for unit in FUNNEL_UNITS:
            for program, plot in funnel.funnels(cur, measure, unit).items():
                safe = suppress_funnel(plot, person_counts=measure != "attendance_rate", threshold=threshold)
                figures.append(qi_figures.funnel_figure(safe, measure))
                notes.append(f"{safe.title}: " + ("; ".join(safe.outliers) if safe.outliers
                                                  else "every unit within the 95% limits."))
    if not figures:
        notes.append("No funnel plot: nothing selected.")
    return Section("Funnel plots (one program at a time; units listed by name, not ranked)",
                   tuple(figures), tuple(notes))


def _retention_section(cur, threshold) -> Section:
    title = "Retention: no unplanned discharge (Aalen-Johansen)"
    curve = retention.retention_curve(cur)
    # Draw only while enough episodes remain at risk that no point rests on a small count.
    kept = curve[curve["shown"] & (curve["n_at_risk"] >= threshold)].copy()
    if kept.empty:
        return Section("Retention", (figures.empty_figure(title, "Too few episodes to draw a curve."),))
    fig = figures.retention_curves(
        kept, group=None, title=title, y_title="Retained (%)",
        y="retention", lo="retention_lo", hi="retention_hi", at_risk="n_at_risk",
        target=targets.target_for("retention_week_4").value if targets.target_for("retention_week_4") else None,
        target_label="week-4 target",
    )
    return Section("Retention", (fig,), (f"Curve drawn while at least {threshold} episodes are at risk.",))


DOSE_TITLE = "Complete episode-weeks meeting the ASAM 2.1 weekly dose, by program"
MIX_TITLE = "Therapy mix: share of attended minutes"


def _dose_section(cur, threshold) -> Section:
    table = dose.weekly_hours_percentiles(cur)
    if table.empty:
        return Section("Dose", (figures.empty_figure(DOSE_TITLE, "No complete episode-week."),))
    spec = SuppressionSpec(rates=(RateSpec("dose_target_met_rate"), RateSpec("median_weekly_hours")),
                           group_size="patients", column_totals=False)
    safe = suppress_table(table, spec, threshold)
    shown = safe[~safe["dose_target_met_rate"].map(is_hidden)].copy()
    shown["dose_target_met_rate"] = shown["dose_target_met_rate"].astype(float)
    shown["program"] = shown["program"].map(qi_figures.safe_text)
    tgt = targets.target_for("dose_target_met_rate")
    fig = figures.bar_chart(shown, "program", "dose_target_met_rate",
                           title=DOSE_TITLE,
                           x_title="Program", y_title="Weeks at or above target (%)", percent=True,
                           target=tgt.value if tgt else None, target_label=tgt.describe() if tgt else "Target")
    hidden = [str(p) for p in safe.loc[safe["dose_target_met_rate"].map(is_hidden), "program"]]
    notes = tuple(f"{p}: {marker(threshold)} (hidden by small-cell suppression)" for p in hidden)
    return Section("Dose", (fig,), notes)


def _mix_section(cur, threshold) -> Section:
    table = mix.therapy_mix_table(cur)
    if table.empty:
        return Section("Therapy mix", (figures.empty_figure(MIX_TITLE, "No attended session."),))
    spec = SuppressionSpec(rates=(RateSpec("share"),), group_size="patients", column_totals=False)
    safe = suppress_table(table, spec, threshold)
    shown = safe[~safe["share"].map(is_hidden)].copy()
    shown["share"] = shown["share"].astype(float)
    shown["session_type"] = shown["session_type"].map(qi_figures.safe_text)
    fig = figures.bar_chart(shown, "session_type", "share", title=MIX_TITLE,
                           x_title="Session type", y_title="Share of attended minutes (%)", percent=True)
    hidden = [str(t) for t in safe.loc[safe["share"].map(is_hidden), "session_type"]]
    notes = tuple(f"{t}: {marker(threshold)} (hidden by small-cell suppression)" for t in hidden)
    return Section("Therapy mix", (fig,), notes)


def _comparison_html(store, filters, scope, threshold) -> str:
    comp = periods.compare_months(store, filters, scope)
    table = periods.comparison_table(comp, suppress=True, threshold=threshold)
    if not comp.months:
        return "<p>No data.</p>"
    kinds = {k: kind for k, (_, kind) in periods.KPIS.items()}
    head = "".join(f"<th>{esc(h)}</th>" for h in (
        "KPI", comp.months["this"].strftime("%b %Y"), comp.months["previous"].strftime("%b %Y"),
        comp.months["last_year"].strftime("%b %Y"), "change vs month before", "change vs a year before"))
    rows = []
    for _, r in table.iterrows():
        kind = "count" if kinds[r["kpi"]] == "count" else "percent"
        cells = [esc(r["label"])] + [esc(format_value(r[c], kind)) for c in (
            "this_month", "previous_month", "same_month_last_year")]
        for c in ("change_vs_previous", "change_vs_last_year"):
            v = r[c]
            if isinstance(v, str) or v is None or pd.isna(v):
                cells.append(esc(format_value(v, kind)))
            else:
                cells.append(esc(f"{v:+,.0f}" if kind == "count" else f"{100 * v:+.1f} points"))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table class='comparison'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# -- definitions appendix -------------------------------------------------------
def markdown_to_html(text: str) -> str:
    """A small, escaping Markdown subset (headings, bullets, paragraphs, `code`) for the appendix."""
    out, para, items = [], [], []

    def inline(s: str) -> str:
        s = esc(s)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)

    def flush():
        if para:
            out.append("<p>" + inline(" ".join(para)) + "</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("<!--") or stripped.startswith("```"):
            continue
        if stripped.startswith("#"):
            flush()
            level = min(len(stripped) - len(stripped.lstrip("#")) + 2, 6)
            out.append(f"<h{level}>{inline(stripped.lstrip('#').strip())}</h{level}>")
        elif stripped.startswith(("- ", "* ")):
            if para:
                flush()
            items.append(stripped[2:])
        elif not stripped:
            flush()
        elif items and line.startswith(" "):
            items[-1] += " " + stripped
        else:
            para.append(stripped)
    flush()
    return "\n".join(out)


def definitions_html() -> str:
    parts = []
    for path in DEFINITION_FILES:
        if path.is_file():
            parts.append(markdown_to_html(path.read_text(encoding="utf-8")))
    return "\n".join(parts) or "<p>Definitions: see docs/metrics.md.</p>"


# -- the page -------------------------------------------------------------------------
STYLE = """
body { font-family: sans-serif; color: #1B1F24; margin: 24px auto; max-width: 1100px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { border-bottom: 1px solid #ccc; margin-top: 32px; }
.meta td { padding: 2px 12px 2px 0; vertical-align: top; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { border: 1px solid #ccc; border-left: 8px solid #999; padding: 8px 12px; min-width: 170px; }
.tile.green { border-left-color: #009E73; } .tile.amber { border-left-color: #E69F00; }
.tile.red { border-left-color: #D55E00; }
.tile .v { font-size: 22px; font-weight: bold; } .tile .l, .tile .t { font-size: 12px; color: #444; }
.figure { break-inside: avoid; page-break-inside: avoid; margin: 12px 0; }
table.comparison { border-collapse: collapse; } table.comparison td, table.comparison th {
  border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
table.comparison td:first-child { text-align: left; }
.notes li { margin: 2px 0; } .appendix { font-size: 13px; }
@media print { body { margin: 0; max-width: none; } h2 { break-before: auto; } }
"""


def _figure_html(fig: go.Figure) -> str:
    # Plotly escapes '<' in the figure JSON (\\u003c), so no data text can close the script.
    body = fig.to_html(include_plotlyjs=False, full_html=False, config={"displaylogo": False, "responsive": True})
    return f"<div class='figure'>{body}</div>"


def build_report_html(
    store: Store,
    filters: Filters,
    scope: Scope,
    *,
    generated_by: str,
    baseline_start: date | None = None,
    baseline_end: date | None = None,
    laney: bool = True,
    threshold: int | None = None,
) -> str:
    """The packet as one self-contained HTML string (see the module docstring)."""
    from plotly.offline import get_plotlyjs

    threshold = threshold if threshold is not None else suppression_threshold()
    with store.read() as cur:
        as_of = bind_filters(cur, filters, scope)
        programs = [p for (p,) in cur.execute(
            "SELECT DISTINCT program FROM main.selected_episodes() ORDER BY program").fetchall()]
        values = kpi_values(cur)
        interventions = list_interventions(cur)
        sections = [
            _control_sections(cur, interventions, threshold, baseline_start, baseline_end, laney, programs),
            _funnel_section(cur, threshold),
            _retention_section(cur, threshold),
            _dose_section(cur, threshold),
            _mix_section(cur, threshold),
        ]
    tiles = suppressed_tiles(values, threshold)
    comparison = _comparison_html(store, filters, scope, threshold)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    meta = [("Data as of", str(as_of) if as_of else "no data"), *filters.describe(),
            ("Baseline for control limits", f"{baseline_start or 'first period'} to {baseline_end or 'last period'}"),
            ("Session charts", "Laney p′ limits" if laney else "p limits"),
            ("Small-cell suppression", f"counts 1 to {threshold - 1} and rates built on them shown as {marker(threshold)}"),
            ("Generated", f"{generated} by {generated_by}")]
    if scope.allowed_sites is not None:
        meta.append(("Sites in scope", ", ".join(scope.allowed_sites) or "none"))
    meta_html = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in meta)

    tile_html = "".join(
        f"<div class='tile {esc(t.status or 'none')}'><div class='l'>{esc(t.label)}</div>"
        f"<div class='v'>{esc(format_value(t.value, t.kind))}</div>"
        f"<div class='t'>{esc(t.target)}{' · ' + esc(t.status) if t.status else ''}</div></div>"
        for t in tiles)

    body = [
        "<h1>QI meeting packet</h1>",
        f"<p>Data as of <strong>{esc(as_of or 'no data')}</strong>.</p>",
        f"<table class='meta'>{meta_html}</table>",
        "<h2>Key figures</h2>", f"<div class='tiles'>{tile_html}</div>",
        "<h2>Last complete month compared</h2>", comparison,
    ]
    if not interventions.empty:
        items = "".join(f"<li>{esc(r.on_date.date() if hasattr(r.on_date, 'date') else r.on_date)}: "
                        f"{esc(r.title)}{' — ' + esc(r.note) if r.note else ''}</li>"
                        for r in interventions.itertuples())
        body.append(f"<h2>Interventions</h2><ul>{items}</ul>")
    for section in sections:
        body.append(f"<h2>{esc(section.title)}</h2>")
        body.extend(_figure_html(f) for f in section.figures)
        if section.notes:
            body.append("<ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in section.notes) + "</ul>")
    body.append(f"<h2>Definitions</h2><div class='appendix'>{definitions_html()}</div>")

    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>QI meeting packet</title>"
        f"<style>{STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script>"
        "</head><body>" + "\n".join(body) + "</body></html>"
    )


# -- PDF --------------------------------------------------------------------------------
def write_pdf(html_text: str, out_path: str | Path, *, timeout_ms: int = 60_000) -> None:
    """Print the packet to PDF with headless Chromium, after every Plotly chart has drawn.

    The page is loaded from a local file and every other request is refused, so
    printing needs no network either.
    """
    from playwright.sync_api import sync_playwright

    out_path = Path(out_path)
    src = out_path.with_suffix(".print.html")
    src.write_text(html_text, encoding="utf-8")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else route.abort())
                page.goto(src.resolve().as_uri(), wait_until="load", timeout=timeout_ms)
                page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
                    ".every(d => d.querySelector('.main-svg'))", timeout=timeout_ms)
                page.emulate_media(media="print")
                page.pdf(path=str(out_path), format="A4", print_background=True,
                         margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            finally:
                browser.close()
    finally:
        src.unlink(missing_ok=True)


# -- audit and CLI ----------------------------------------------------------------------
def record_report(store: Store, scope: Scope, filters: Filters, files: dict[str, str], html_text: str) -> None:
    """One audit row for a packet: who, which filters, where it went, and its hash.

    The dashboard's packet button calls this too, with files {"download": name}.
    """
    with store.write() as cur:
        record(cur, scope.actor, "report", {
            "filters": dict(filters.describe()), "as_of": filters.as_of or "data cutoff", "files": files,
            "sha256": hashlib.sha256(html_text.encode("utf-8")).hexdigest(),
        })
