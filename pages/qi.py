"""QI meeting: control charts, funnel plots, period comparison, at-risk list, meeting packet."""
from __future__ import annotations

import streamlit as st

from ui import widgets
from ui.context import page_context

ctx = page_context()
st.title("QI meeting")
widgets.as_of_line(ctx)
st.info("The QI toolkit is not available yet.")
