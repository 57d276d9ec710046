"""The period a page's KPI tiles describe, and the same length of time before it.

The Overview and the Outcomes page choose it alike: the sidebar's admission dates when
set, else a recent window picked above the tiles (last 3, 6 or 12 months up to the data
date). Tiles compare the episodes admitted in the period with those admitted in the
period before.

>>> period = tile_period(ctx, "ov_window")
>>> now = data.query(ctx, fn, filters=period.filters(ctx))
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import streamlit as st

from analytics.filters import Filters

WINDOWS = {"Last 3 months": 91, "Last 6 months": 182, "Last 12 months": 365}
DEFAULT_WINDOW = "Last 12 months"


@dataclass(frozen=True)
class TilePeriod:
    start: date
    end: date
    label: str  # "the admission date range", "last 12 months", ...

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def previous_start(self) -> date:
        return self.previous_end - timedelta(days=self.days - 1)

    def filters(self, base: Filters) -> Filters:
        """base narrowed to the episodes admitted in the period."""
        return replace(base, admitted_from=self.start, admitted_to=self.end)

    def previous_filters(self, base: Filters) -> Filters:
        """base narrowed to the episodes admitted in the period before."""
        return replace(base, admitted_from=self.previous_start, admitted_to=self.previous_end)

    def caption(self) -> str:
        return (f"Tiles: episodes admitted in {self.label} ({self.start:%d %b %Y} to {self.end:%d %b %Y}); the "
                f"change is against the {self.days} days before ({self.previous_start:%d %b %Y} to "
                f"{self.previous_end:%d %b %Y}).")


def tile_period(ctx: Any, key: str, *, show_control: bool = True) -> TilePeriod:
    """The admission date filter if set, else the window chosen in a control with this key.

    show_control=False reads the choice of a control already drawn on the page.
    """
    f = ctx.filters
    if f.admitted_from or f.admitted_to:
        return TilePeriod(f.admitted_from or ctx.options.admit_min, f.admitted_to or ctx.as_of,
                          "the admission date range")
    if show_control:
        choice = st.segmented_control("Period", list(WINDOWS), default=DEFAULT_WINDOW, key=key)
    else:
        choice = st.session_state.get(key)
    days = WINDOWS.get(choice or DEFAULT_WINDOW)
    end = ctx.as_of
    return TilePeriod(end - timedelta(days=days - 1), end, (choice or DEFAULT_WINDOW).lower())
