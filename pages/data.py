"""Data: import exports, the import log, rejected rows, and data coverage by site and month."""
from __future__ import annotations

import streamlit as st

from ui import widgets
from ui.context import page_context

ctx = page_context(require_data=False)
st.title("Data")
widgets.as_of_line(ctx)
