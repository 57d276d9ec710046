"""The QI meeting packet: one self-contained HTML file (and a PDF of it) that can leave the room.

- Opens offline: Plotly's JavaScript is embedded once, inline; no external src or href.
- Every count and rate is small-cell suppressed, whoever asks, by the suppression
  declared beside each analytics function (analytics.privacy.suppression).
- Every text that came from imported files (site, program, clinician names, filter
  values, intervention titles) is HTML-escaped, in the page (the Jinja2 template
  templates/packet.html.j2 escapes every value) and in the figures.
- It has no patient-level rows: the at-risk list is never in it.

$ python -m analytics report --db store.duckdb --out packet.html --pdf packet.pdf --program "Adult IOP"
"""
from __future__ import annotations

import functools
import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from analytics import formatting
from analytics.config import suppression_threshold
from analytics.filters import Filters, Scope
from analytics.metrics import breakdowns, change, dose, intake, measures, mix, retention, score_weeks
from analytics.privacy.audit import record
from analytics.privacy.suppression import is_hidden, marker, suppression_of
from analytics.qi import funnel, periods, spc, targets
from analytics.qi import intake as intake_qi
from analytics.qi.interventions import list_interventions
from analytics.store import Store, bind_filters
from analytics.store.instruments import instruments_in_force
from analytics.report import definitions, figures, intake_figures, outcome_figures, qi_figures, qi_tables
from analytics.report.tiles import kpi_values, suppressed_tiles

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
TEMPLATES = Path(__file__).resolve().parent / "templates"


# -- figures ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Section:
    title: str
    figures: tuple[go.Figure, ...] = ()
    notes: tuple[str, ...] = ()  # plain text, escaped by the template


def _control_sections(cur, interventions, threshold, baseline_start, baseline_end, laney,
                      programs: list[str]) -> Section:
    chart_set = spc.standard_charts(cur, baseline_start=baseline_start, baseline_end=baseline_end, laney=laney)
    safe_set = suppression_of(spc.standard_charts).apply(chart_set, threshold=threshold)
    figures, notes = [], []
    hours_target = targets.dose_hours_target(programs) if programs else None
    for key, chart in chart_set.items():
        safe = safe_set[key]
        fig = qi_figures.control_chart_figure(
            safe, interventions, target=hours_target if chart.metric == "median_weekly_hours" else None,
            suppressed_marker=marker(threshold))
        figures.append(fig)
        notes.append(f"{chart.title}: " + ("; ".join(safe.signals) if safe.signals else "no special-cause signal."))
    return Section("Control charts", tuple(figures), tuple(notes))


def _funnel_section(cur, threshold) -> Section:
    figures, notes = [], []
    for measure in funnel.MEASURES:
        for unit in funnel.UNITS:
            plots = funnel.funnels(cur, measure, unit)
            for safe in suppression_of(funnel.funnels).apply(plots, measure, unit, threshold=threshold).values():
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
    safe = suppression_of(dose.weekly_hours_percentiles).apply(table, threshold=threshold)
    shown = safe[~safe["dose_target_met_rate"].map(is_hidden)].copy()
    shown["dose_target_met_rate"] = shown["dose_target_met_rate"].astype(float)
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
    safe = suppression_of(mix.therapy_mix_table).apply(table, threshold=threshold)
    shown = safe[~safe["share"].map(is_hidden)].copy()
    shown["share"] = shown["share"].astype(float)
    fig = figures.bar_chart(shown, "session_type", "share", title=MIX_TITLE,
                            x_title="Session type", y_title="Share of attended minutes (%)", percent=True)
    hidden = [str(t) for t in safe.loc[safe["share"].map(is_hidden), "session_type"]]
    notes = tuple(f"{t}: {marker(threshold)} (hidden by small-cell suppression)" for t in hidden)
    return Section("Therapy mix", (fig,), notes)


OUTCOME_FIGURES = (("pairs", "pairs", "count"), ("reliable_improvement_rate", "reliable improvement", "rate"),
                   ("recovery_rate", "recovery", "rate"), ("reliable_deterioration_rate", "reliable deterioration", "rate"),
                   ("measurement_completion_rate", "measurement completion", "rate"))


def _outcomes_section(cur, threshold) -> Section | None:
    """Per instrument with scores: its headline figures, the Jacobson-Truax plot binned (whoever
    asks: one point per episode is patient-level), the mean by program week; then the drug
    screens. None when the store holds no score (the packet then has no such section)."""
    if not measures.store_has_scores(cur):
        return None
    shown_marker = marker(threshold)
    found = measures.measures(cur)
    safe = suppression_of(measures.measures).apply(found, threshold=threshold)
    figs, notes = [], []
    for ins in instruments_in_force(cur):
        if found[ins.name].measured_episodes == 0:
            continue
        m = safe[ins.name]
        notes.append(f"{ins.label}: " + "; ".join(f"{label} {formatting.number(getattr(m, key), kind)}"
                                                 for key, label, kind in OUTCOME_FIGURES))
        if ins.reliable_change is not None or ins.caseness is not None:
            grid = change.change_grid(cur, ins.name)
            binned = suppression_of(change.change_grid).apply(grid, ins.name, threshold=threshold)
            figs.append(outcome_figures.jacobson_truax_grid(binned, ins, suppressed_marker=shown_marker))
        weeks = score_weeks.scores_by_week(cur, ins.name)
        figs.append(outcome_figures.mean_by_week(
            suppression_of(score_weeks.scores_by_week).apply(weeks, ins.name, threshold=threshold), ins))
    screen = {i.name: i for i in instruments_in_force(cur)}.get(score_weeks.SCREEN_INSTRUMENT)
    if screen is not None and found[screen.name].measured_episodes:
        weeks = score_weeks.positivity_by_week(cur)
        figs.append(outcome_figures.positivity_by_week(
            suppression_of(score_weeks.positivity_by_week).apply(weeks, threshold=threshold), screen.label))
    notes.append(f"Small counts and the figures built on them read {shown_marker}; the Jacobson-Truax plots are "
                 "binned into cells, and small cells are hidden.")
    return Section("Clinical outcomes", tuple(figs), tuple(notes))


PATH_TITLE = "From first contact to the 4th day of care"


def _access_section(cur, interventions, threshold, baseline_start, baseline_end) -> Section:
    """The path from first contact to day 4, the access control charts and the admission
    rate funnel plots, each as small-cell suppression leaves it."""
    # Where there is nothing to draw the section says so in a note (an empty store's
    # packet has no access figure at all).
    figs, notes = [], []
    wide = suppression_of(intake.contact_funnel).apply(intake.contact_funnel(cur), threshold=threshold)
    steps = intake.funnel_steps(wide)
    if steps.empty or steps["referrals"].iloc[0] == 0:
        notes.append(f"{PATH_TITLE}: no referral first seen 28 or more days before the data date.")
    else:
        figs.append(intake_figures.contact_funnel_figure(steps))
        hidden = [str(label) for label, value in zip(steps["label"], steps["referrals"]) if is_hidden(value)]
        if hidden:
            notes.append(f"{PATH_TITLE}: {', '.join(hidden)}: {marker(threshold)} (hidden by small-cell suppression)")
    charts = intake_qi.access_charts(cur, baseline_start=baseline_start, baseline_end=baseline_end)
    for chart in suppression_of(intake_qi.access_charts).apply(charts, threshold=threshold).values():
        if chart.empty:
            notes.append(f"{chart.title}: no month can be judged yet.")
            continue
        figs.append(qi_figures.control_chart_figure(chart, interventions, suppressed_marker=marker(threshold)))
        notes.append(f"{chart.title}: " + ("; ".join(chart.signals) if chart.signals else "no special-cause signal."))
    columns = breakdowns.referral_columns(cur)
    dimension = "referral_source" if "referral_source" in columns else "site"
    plots = intake_qi.admission_funnels(cur, dimension)
    for safe in suppression_of(intake_qi.admission_funnels).apply(plots, dimension, threshold=threshold).values():
        figs.append(qi_figures.funnel_figure(safe, "admission_rate"))
        notes.append(f"{safe.title}: " + ("; ".join(safe.outliers) if safe.outliers
                                          else "every unit within the 95% limits."))
    return Section("Access and early engagement (initiation and engagement are IET-style, not HEDIS)",
                   tuple(figs), tuple(notes))


@dataclass(frozen=True)
class Comparison:
    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _comparison(store, filters, scope, threshold) -> Comparison | None:
    comp = periods.compare_months(store, filters, scope)
    if not comp.months:
        return None
    safe = suppression_of(periods.compare_months).apply(comp, threshold=threshold)
    text = qi_tables.comparison_text(periods.comparison_table(safe, threshold=threshold))
    months = tuple(comp.months[p].strftime("%b %Y") for p in ("this", "previous", "last_year"))
    columns = ("label", *qi_tables.COMPARISON_VALUES, *qi_tables.COMPARISON_CHANGES)
    return Comparison(("KPI", *months, "change vs month before", "change vs a year before"),
                      tuple(tuple(row) for row in text[list(columns)].itertuples(index=False)))


# -- the page -------------------------------------------------------------------------
def _escaped(value: object) -> object:
    """Every value the template prints, escaped by the one escaping function (Markup as it is)."""
    if value is None:
        return ""
    if hasattr(value, "__html__"):
        return value
    return Markup(formatting.escape_html(value))


@functools.cache
def _template():
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, finalize=_escaped,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = formatting.number
    return env.get_template("packet.html.j2")


def _figure_html(fig: go.Figure) -> Markup:
    # Plotly escapes '<' in the figure JSON (\\u003c), so no data text can close the script.
    return Markup(fig.to_html(include_plotlyjs=False, full_html=False,
                              config={"displaylogo": False, "responsive": True}))


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
        outcomes = _outcomes_section(cur, threshold)
        if outcomes is not None:
            sections.append(outcomes)
        sections.append(_access_section(cur, interventions, threshold, baseline_start, baseline_end))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = [("Data as of", str(as_of) if as_of else "no data"), *filters.describe(),
            ("Baseline for control limits", f"{baseline_start or 'first period'} to {baseline_end or 'last period'}"),
            ("Session charts", "Laney p′ limits" if laney else "p limits"),
            ("Small-cell suppression", f"counts 1 to {threshold - 1} and rates built on them shown as {marker(threshold)}"),
            ("Generated", f"{generated} by {generated_by}")]
    if scope.allowed_sites is not None:
        meta.append(("Sites in scope", ", ".join(scope.allowed_sites) or "none"))
    return _template().render(
        plotly_js=Markup(get_plotlyjs()),
        as_of=as_of or "no data",
        meta=meta,
        tiles=suppressed_tiles(values, threshold),
        comparison=_comparison(store, filters, scope, threshold),
        interventions=[{"on_date": r.on_date.date() if hasattr(r.on_date, "date") else r.on_date,
                        "title": r.title, "note": r.note} for r in interventions.itertuples()],
        sections=[{"title": s.title, "figures": [_figure_html(f) for f in s.figures], "notes": s.notes}
                  for s in sections],
        definitions=Markup(definitions.appendix_html()),
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

    packet_download() records one too, with files {"html": "download"} or {"pdf": "download"}.
    """
    with store.write() as cur:
        record(cur, scope.actor, "report", {
            "filters": dict(filters.describe()), "as_of": filters.as_of or "data cutoff", "files": files,
            "sha256": hashlib.sha256(html_text.encode("utf-8")).hexdigest(),
        })


def packet_download(store: Store, filters: Filters, scope: Scope, kind: str, *, generated_by: str,
                    baseline_start: date | None = None, baseline_end: date | None = None,
                    laney: bool = True) -> bytes:
    """The packet as a file to download (kind "html" or "pdf"), with its audit row.

    >>> packet_download(store, filters, scope, "pdf", generated_by="lead@example.org")[:4]
    b'%PDF'
    """
    if kind not in ("html", "pdf"):
        raise ValueError(f"a packet is html or pdf, not {kind!r}")
    text = build_report_html(store, filters, scope, generated_by=generated_by, baseline_start=baseline_start,
                             baseline_end=baseline_end, laney=laney)
    if kind == "html":
        record_report(store, scope, filters, {"html": "download"}, text)
        return text.encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="iop-packet-") as tmp:
        out = Path(tmp) / "packet.pdf"
        write_pdf(text, out)
        record_report(store, scope, filters, {"pdf": "download"}, text)
        return out.read_bytes()
