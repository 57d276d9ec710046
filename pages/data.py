"""Data: import exports, the import log, rejected rows, coverage by site and month, the audit log."""
from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics.ingest import history
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
        st.dataframe(finished, hide_index=True, width="stretch")
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
            st.error(str(exc))
            return
    bar.progress(1.0, text="Import finished")
    # Rerun so every section below reads the new data version; the result is shown once after it.
    # skipped and removed are columns only when a FHIR file was imported (as in --format json)
    st.session_state[_RESULT_KEY] = pd.DataFrame(result.as_json()["files"])
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


for section, name in ((upload, "Import"), (import_log, "Import log"), (rejects, "Rejected rows"),
                      (data_coverage, "Data coverage"), (audit_log, "Audit log")):
    widgets.guarded(section, name)
