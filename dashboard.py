"""The dashboard's entry point: `streamlit run dashboard.py` (or `./run dashboard`).

Page config, the bundled sample store when IOP_DB is unset, the access gate,
then the navigation over pages/. Every page also passes the gate itself
(ui.context.page_context()), so a page reached any other way is still guarded.
"""
from __future__ import annotations

import os

import streamlit as st

st.set_page_config(page_title="IOP outcomes", layout="wide", initial_sidebar_state="expanded")


@st.cache_resource(show_spinner="Preparing the bundled sample data…")
def _ensure_sample_store() -> None:
    # Only when no store is named: the sample is synthetic, built from the committed CSVs.
    from analytics.ingest.sample_store import ensure_sample_store

    ensure_sample_store()


if not os.environ.get("IOP_DB"):
    try:
        _ensure_sample_store()
    except Exception as exc:  # noqa: BLE001 - a plain message, never a traceback
        import logging

        logging.getLogger(__name__).error("sample store could not be built: %s", type(exc).__name__)
        st.error("The bundled sample data could not be prepared. Check that sample_data/ holds enrollments.csv, "
                 "sessions.csv, assessments.csv and referrals.csv, or set IOP_DB to a store.")
        st.stop()

from ui.context import gate, leave_pages_directory_mode  # noqa: E402  (after set_page_config)

leave_pages_directory_mode()  # route every request through the navigation below
gate()  # before the navigation exists: nothing but a login prompt until allowed

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("pages/retention.py", title="Retention", icon=":material/timeline:", url_path="retention"),
    st.Page("pages/attendance.py", title="Attendance and sessions", icon=":material/event_available:",
            url_path="attendance"),
    st.Page("pages/therapy_mix.py", title="Therapy mix", icon=":material/donut_small:", url_path="therapy_mix"),
    st.Page("pages/outcomes.py", title="Clinical outcomes", icon=":material/monitor_heart:", url_path="outcomes"),
    st.Page("pages/access.py", title="Access", icon=":material/door_open:", url_path="access"),
    st.Page("pages/qi.py", title="QI meeting", icon=":material/query_stats:", url_path="qi"),
    st.Page("pages/data.py", title="Data", icon=":material/database:", url_path="data"),
]
st.navigation(PAGES).run()
