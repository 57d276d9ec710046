"""Clinical outcomes: per instrument, the headline change figures against the previous period, the
Jacobson-Truax plot, the mean score by program week, the change categories by group and the drug
screens by program week. Layout only: analytics.metrics (measures, change, score_weeks) computes
everything, analytics.report.outcome_figures draws it.

Roles without patient-level rights (analysts) get the Jacobson-Truax plot binned into cells with
small cells hidden; every figure, table and download goes through the suppression declared beside
its analytics function, as on the other pages.
"""
from __future__ import annotations

import streamlit as st

from analytics.config import headline_instrument
from analytics.metrics import breakdowns, change, measures, score_weeks
from analytics.qi.targets import status, target_for
from analytics.report import outcome_figures
from ui import data, widgets
from ui.context import page_context
from ui.period import tile_period

ctx = page_context()
st.title("Clinical outcomes")
widgets.as_of_line(ctx)

if not data.query(ctx, measures.store_has_scores):
    st.info("No assessment scores have been imported yet. Import an assessments export (CSV, or FHIR "
            "Observations as ndjson) on the Data page.")
    st.stop()
choices = data.query(ctx, measures.instrument_choices)
LABELS = dict(choices)
NAMES = list(LABELS)
if not NAMES:
    st.info("No measurement instrument is configured (config/instruments.toml).")
    st.stop()
_default = headline_instrument() if headline_instrument() in NAMES else NAMES[0]
NAME = st.selectbox("Instrument", NAMES, index=NAMES.index(_default), format_func=LABELS.get, key="oc_instrument",
                    help="The instruments in force (config/instruments.toml, as the store holds them).")
INS = data.query(ctx, measures.instrument_definition, NAME)


def tiles() -> None:
    period = tile_period(ctx, "oc_window")
    st.caption(period.caption())
    now = data.query(ctx, measures.instrument_measures, NAME, filters=period.filters(ctx.filters))
    before = data.query(ctx, measures.instrument_measures, NAME, filters=period.previous_filters(ctx.filters))
    if now.measured_episodes == 0 and now.due_windows == 0:
        widgets.note_empty(f"No episode admitted in this period has a {INS.label} score or a window due.")
        return
    row = st.columns(5)
    with row[0]:
        widgets.tile("Pairs", now.pairs, previous=before.pairs, higher_is_better=None,
                     help="Episodes with scores on two or more dates (baseline and follow-up)")
    with row[1]:
        widgets.tile("Reliable improvement", now.reliable_improvement_rate, "rate",
                     previous=before.reliable_improvement_rate,
                     help="Pairs improved by at least the reliable change" + (
                         f" ({INS.reliable_change} points)" if INS.reliable_change else " (none configured)"),
                     status=status("reliable_improvement_rate", now.reliable_improvement_rate))
    with row[2]:
        widgets.tile("Recovery", now.recovery_rate, "rate", previous=before.recovery_rate,
                     help="Of the pairs starting in the clinical range, those ending out of it")
    with row[3]:
        widgets.tile("Reliable deterioration", now.reliable_deterioration_rate, "rate",
                     previous=before.reliable_deterioration_rate, higher_is_better=False,
                     help="Pairs worse by at least the reliable change")
    with row[4]:
        widgets.tile("Measurement completion", now.measurement_completion_rate, "rate",
                     previous=before.measurement_completion_rate,
                     help=f"Windows of {INS.every_days} days with a score, of the windows due",
                     status=status("measurement_completion_rate", now.measurement_completion_rate))
    targets = [t.describe(percent=True).replace("target:", f"{t.metric.replace('_', ' ')}:")
               for t in (target_for(m) for m in ("reliable_improvement_rate", "measurement_completion_rate")) if t]
    if targets:
        st.caption("Targets (config/iop.toml): " + "; ".join(targets) + ".")
    widgets.how_computed("outcome-tiles")


def jacobson_truax() -> None:
    st.subheader("Baseline against follow-up (Jacobson-Truax plot)")
    if ctx.scope.patient_level:
        points = data.query(ctx, change.change_points, NAME)
        widgets.cached_chart(ctx, "oc_jt_points", lambda: outcome_figures.jacobson_truax_points(points, INS), NAME)
        st.caption("One marker per pair of scores, larger where several episodes share it. Outside the grey band "
                   "a change is reliable; the dotted lines mark the clinical range.")
    else:
        st.caption("Binned into cells: your role sees aggregate figures only, and small cells are hidden.")
    grid = data.query(ctx, change.change_grid, NAME)
    if not ctx.scope.patient_level:
        widgets.cached_chart(ctx, "oc_jt_grid", lambda: outcome_figures.jacobson_truax_grid(grid, INS), NAME)
    widgets.table_and_how(ctx, "Pairs per cell (table)", grid, f"change_grid_{NAME}", change.change_grid, NAME,
                          anchor="jacobson-truax-plot")


def by_week() -> None:
    st.subheader("Mean score by program week")
    weeks = data.query(ctx, score_weeks.scores_by_week, NAME)
    widgets.cached_chart(ctx, "oc_weeks", lambda: outcome_figures.mean_by_week(weeks, INS), NAME)
    widgets.table_and_how(ctx, "Weekly figures (table)", weeks, f"scores_by_week_{NAME}", score_weeks.scores_by_week,
                          NAME, anchor="mean-score-by-program-week")


def categories() -> None:
    st.subheader("Change categories by group")
    if INS.reliable_change is None and INS.caseness is None:
        st.info(f"{INS.label} has no reliable change and no clinical range configured, so its pairs are not "
                "put into change categories.")
        return
    dims = data.query(ctx, breakdowns.dimensions, "episode")
    # Extra column names come from imported headers: offered as options, never as markdown.
    dim = st.selectbox("Compare by", dims, key="oc_dimension")
    table = data.query(ctx, change.change_categories, NAME, dim)
    if table.empty:
        widgets.note_empty("No pair of scores in this selection.")
        return
    cols = st.columns(2)
    if INS.reliable_change is not None:
        with cols[0]:
            widgets.cached_chart(ctx, "oc_categories",
                                 lambda: outcome_figures.change_categories(table, dim, INS), NAME, dim)
    if INS.caseness is not None:
        with cols[1]:
            widgets.cached_chart(ctx, "oc_recovery", lambda: outcome_figures.recovery_by(table, dim, INS), NAME, dim)
    widgets.table_and_how(ctx, "Change categories (table)", table, f"change_categories_{NAME}_by_{dim}",
                          change.change_categories, NAME, dim, anchor="change-categories")


def screens() -> None:
    st.subheader("Drug screens by program week")
    if score_weeks.SCREEN_INSTRUMENT not in LABELS:
        st.info("No drug screen instrument is configured.")
        return
    weeks = data.query(ctx, score_weeks.positivity_by_week)
    label = LABELS[score_weeks.SCREEN_INSTRUMENT]
    widgets.cached_chart(ctx, "oc_screens", lambda: outcome_figures.positivity_by_week(weeks, label))
    st.caption("Positivity is reported by program week, not against a target: there is no universal standard "
               "for clinical drug testing (ASAM).")
    widgets.table_and_how(ctx, "Drug screens (table)", weeks, "positivity_by_week", score_weeks.positivity_by_week,
                          anchor="drug-screens-by-program-week")


for section, name in ((tiles, "Headline outcome figures"), (jacobson_truax, "Jacobson-Truax plot"),
                      (by_week, "Mean score by program week"), (categories, "Change categories"),
                      (screens, "Drug screens")):
    widgets.guarded(section, name)
