"""Data: import exports, the import log, what a batch changed (and undo), rejected rows, coverage, the audit log."""
from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics.ingest import batches, history
from analytics.ingest.profiles import ProfileError
from analytics.instruments import InstrumentError
from analytics.metrics import coverage
from analytics.privacy import audit, roles
from analytics.report import figures
from analytics.store import StoreError
from ui import auth, data, widgets
from ui.context import page_context

ctx = page_context(require_data=False)
st.title("Data")
widgets.as_of_line(ctx)

# Imports, the import log and rejects are store-wide, not a site's: directors only
# (local mode acts as a director).
STORE_WIDE = ctx.scope.role == "director" and ctx.scope.allowed_sites is None
_RESULT_KEY = "_data_import_result"
_CHANGES_KEY = "_data_batch_changes"
_UNDONE_KEY = "_data_undo_result"


def _safe_upload_name(name: str) -> str:
    """The uploaded file's base name reduced to plain characters (it names a temp file)."""
    base = Path(name).name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("._") or "upload.csv"


def upload() -> None:
    st.subheader("Import exports")
    if not STORE_WIDE:
        st.info("Importing is for clinical directors (it changes every site's data).")
        return
    st.caption("Attendance/duration exports (sessions), enrollment/discharge exports, referral exports "
               "(referrals: every request for service, admitted or not, e.g. from the intake team's CRM) "
               "and assessment scores (PHQ-9, GAD-7, BAM, drug screens), as CSV or Excel; scores also as "
               "FHIR Bulk Data (Observation and Patient .ndjson files). Each file's kind is told from its "
               "headers. "
               "Every row is either loaded or kept with its reason in the rejected rows below. "
               "Re-importing a file updates changed rows and leaves the rest unchanged.")
    finished = st.session_state.pop(_RESULT_KEY, None)
    if finished is not None:
        st.success("Import finished. The figures on every page now include it.")
        if finished[1]:
            st.warning(finished[1])  # loaded, but the store could not finish writing it
        st.dataframe(finished[0], hide_index=True, width="stretch")
    try:
        key = auth.pseudonym_key()
    except auth.AccessConfigError as exc:
        # A key that is set but unusable must not fall back to importing raw ids.
        st.error(f"{exc} Nothing can be imported until it is fixed.")
        return
    # With a key, every import is pseudonymised (no opt-out): a store must never hold raw
    # EHR ids beside pseudonyms, or one patient would count as two.
    if key is not None:
        st.info("Patient ids are replaced by keyed pseudonyms on every import, because a pseudonymisation key is "
                "configured. The store never holds the EHR's ids, and raw and pseudonymised ids never mix.")
    else:
        st.caption("No pseudonymisation key is configured ([pseudonymisation] key in .streamlit/secrets.toml), "
                   "so patient ids are stored as exported.")
    with st.form("import_form", clear_on_submit=True):
        files = st.file_uploader("Export files", type=["csv", "txt", "tsv", "xlsx", "ndjson", "jsonl"],
                                 accept_multiple_files=True, key="import_files")
        submitted = st.form_submit_button("Import", type="primary")
    if not submitted:
        return
    if not files:
        st.warning("Choose one or more files first.")
        return
    from analytics.ingest.importer import ImportRefused, import_files

    bar = st.progress(0.0, text="Starting the import…")

    def progress(fraction: float, message: str) -> None:
        # message comes from the importer: file names and stages, never row values.
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    with tempfile.TemporaryDirectory(prefix="iop-upload-") as tmp:
        paths = []
        for f in files:
            path = Path(tmp) / _safe_upload_name(f.name)
            path.write_bytes(f.getbuffer())
            paths.append(path)
        try:
            result = import_files(ctx.store, paths, actor=auth.current_actor(), progress=progress,
                                  pseudonymise_key=key)
        except ImportRefused as exc:
            bar.empty()
            st.error(f"Nothing was imported. {exc}")
            return
        except (StoreError, ProfileError, InstrumentError) as exc:
            # the store, or a configuration file (names the file and entry, never data)
            bar.empty()
            st.error(f"Nothing was imported. {exc}")  # the cause in plain words, as the CLI says it
            return
    bar.progress(1.0, text="Import finished")
    # Rerun so every section below reads the new data version; the result is shown once after it.
    # skipped and removed are columns only when a FHIR file was imported (as in --format json)
    st.session_state[_RESULT_KEY] = (pd.DataFrame(result.as_json()["files"]), result.warning)
    st.rerun()


def import_log() -> None:
    st.subheader("Import log")
    if not STORE_WIDE:
        st.info("The import log is shown to clinical directors.")
        return
    log = data.query(ctx, history.import_log, 500)
    if log.empty:
        st.info("Nothing has been imported yet.")
        return
    st.dataframe(log, hide_index=True, width="stretch")
    widgets.download_table(ctx, log, "import_log", history.import_log)


def batch_history() -> None:
    st.subheader("What an import changed")
    if not batches.may_see_history(ctx.scope):
        # Old values show rows as they were, at whatever site they were then.
        st.info("What an import changed, with the old values, is shown to clinical directors.")
        return
    log = data.query(ctx, history.import_log, 500)
    log = log[log["status"].isin(batches.UNDOABLE)]
    if log.empty:
        st.info("No import has changed any rows yet.")
        return
    st.caption("Every row an import replaced or removed is kept with the import's batch, so each batch can be "
               "listed and undone. Each listing is recorded in the audit log.")
    labels = {int(r.batch_id): f"batch {int(r.batch_id)}: {r.file} ({r.kind}, {r.status})"
              for r in log.itertuples()}
    # st.selectbox shows the label as text: file names come from uploads and are not rendered as markdown.
    batch = st.selectbox("Batch", list(labels), format_func=labels.get, key="data_history_batch")
    if st.button("Show what it changed", key="data_history_show"):
        try:
            shown = batches.batch_changes(ctx.store, batch, ctx.scope, auth.current_actor())
        except batches.BatchNotFound as exc:
            st.warning(str(exc))
            return
        st.session_state[_CHANGES_KEY] = shown  # (the view's own audit row changes the data version)
    undone = st.session_state.pop(_UNDONE_KEY, None)
    if undone is not None:
        st.success(undone)
    shown = st.session_state.get(_CHANGES_KEY)
    if shown is None or shown.batch != batch:
        return
    st.text(f"Batch {shown.batch}: {shown.inserted} inserted, {shown.updated} updated, {shown.deleted} deleted"
            + (f"; undone by batch {shown.undone_by}" if shown.undone_by else ""))
    for change in ("inserted", "updated", "deleted"):
        rows = [c for c in shown.rows if c.change == change]
        if not rows:
            continue
        if change == "updated":
            frame = pd.DataFrame([{"id": c.record_id, "column": k, "old": _cell(c.old.get(k)),
                                   "new": _cell(c.new.get(k))} for c in rows for k in c.changed])
        else:
            frame = pd.DataFrame([{k: _cell(v) for k, v in (c.new or c.old).items()} for c in rows])
        st.text(f"{change.capitalize()} ({getattr(shown, change)}"
                + (f", the first {len(rows)} listed)" if getattr(shown, change) > len(rows) else ")"))
        st.dataframe(frame, hide_index=True, width="stretch")  # text, never markdown
    if shown.undone_by:
        return
    with st.form("undo_form"):
        st.caption("Undo reverses this batch in one step and records it as a batch of its own (which can be "
                   "undone in turn). It is refused when later imports changed the same rows or depend on them.")
        sure = st.checkbox(f"Undo batch {shown.batch}", key="data_undo_sure")
        if st.form_submit_button("Undo", type="primary") and sure:
            try:
                done = batches.undo_batch(ctx.store, shown.batch, actor=auth.current_actor())
            except batches.UndoRefused as exc:
                st.error(str(exc))
                return
            st.session_state.pop(_CHANGES_KEY, None)
            st.session_state[_UNDONE_KEY] = (
                f"Batch {done.undoes} was undone by batch {done.batch}: {done.deleted} removed, "
                f"{done.updated} put back to their old values, {done.inserted} restored.")
            st.rerun()


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def rejects() -> None:
    st.subheader("Rejected rows")
    if not STORE_WIDE:
        st.info("Rejected rows are shown to clinical directors.")
        return
    rows = data.query(ctx, history.rejected_rows)
    if rows.empty:
        st.success("No rejected rows: every input row was loaded.")
        return
    st.caption("One row per problem found; the line is the line in the file. Patient ids and free-text "
               "values are masked.")
    reasons = rows.groupby(["kind", "column", "reason"], as_index=False).size().rename(columns={"size": "rows"})
    st.dataframe(reasons.sort_values("rows", ascending=False), hide_index=True, width="stretch")
    st.dataframe(rows, hide_index=True, width="stretch")
    widgets.download_table(ctx, rows, "rejected_rows", history.rejected_rows, label="Download rejected rows (CSV)")


def data_coverage() -> None:
    st.subheader("Data coverage by site and month")
    if not ctx.has_data:
        st.info("The store holds no data yet. Import exports above.")
        return
    # Coverage follows the site and program filters, not the admission range: the point is
    # to see where each site's exports stop.
    sites_only = replace(ctx.filters, admitted_from=None, admitted_to=None)
    last = data.query(ctx, coverage.site_last_dates, filters=sites_only)
    monthly = data.query(ctx, coverage.coverage_by_site_month, filters=sites_only)
    if last.empty:
        widgets.note_empty("No site in this selection.")
        return
    # st.text: site names come from imported files and are shown literally.
    st.text(f"Sites in view ({len(last)}): " + ", ".join(str(s) for s in last["site"]))
    late = last[last["lagging"]]
    if not late.empty:
        st.warning(f"{len(late)} site(s) have no sessions in the last weeks before the data date "
                   f"({ctx.as_of}). Their exports probably stop early; their recent weeks would read as "
                   "missed sessions until the next import.")
    shown = widgets.as_text_where_mixed(widgets.with_markers(last)).rename(columns={"lagging": "data stop early"})  # analysts: '<11'
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "first_session": st.column_config.DateColumn("First session"),
        "last_session": st.column_config.DateColumn("Last session"),
        "last_admission": st.column_config.DateColumn("Last admission"),
        "as_of": st.column_config.DateColumn("Data as of"),
        "lag_days": st.column_config.NumberColumn("Days before data date"),
    })
    widgets.download_table(ctx, last, "site_last_dates", coverage.site_last_dates)
    if not monthly.empty:

        def build():
            fig = figures.heatmap(monthly, x="month", y="site", z="sessions", percent=False,
                                 title="Sessions recorded per site and month", x_title="Month of session",
                                 y_title="Site", z_title="Sessions")
            return fig
        widgets.cached_chart(ctx, "data_coverage", build)
        with st.expander("Table: sessions per site and month"):
            widgets.table(ctx, monthly, "coverage_by_site_month", coverage.coverage_by_site_month)
    widgets.how_computed("data-coverage")


def audit_log() -> None:
    if not roles.may_view_audit(ctx.scope) or not ctx.has_data:
        return
    st.subheader("Audit log")
    st.caption("Logins, imports, exports and views of patient-level lists (42 CFR Part 2 accounting of disclosures).")
    rows = data.query(ctx, audit.audit_rows, 500)
    if rows.empty:
        st.info("No audit rows yet.")
        return
    st.dataframe(rows, hide_index=True, width="stretch")


for section, name in ((upload, "Import"), (import_log, "Import log"), (batch_history, "What an import changed"),
                      (rejects, "Rejected rows"),
                      (data_coverage, "Data coverage"), (audit_log, "Audit log")):
    widgets.guarded(section, name)
