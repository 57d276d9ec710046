"""One format for every figure (tiles, tables, the packet, control-chart signals) and one HTML escape."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics import formatting

# (value, kind, text)
NUMBERS = [
    (1234, "count", "1,234"), (np.int64(7), "count", "7"), (12.0, "count", "12"),
    (0.8123, "rate", "81.2%"), (0.0, "rate", "0.0%"), (9.46, "hours", "9.5 h"), (41.4, "days", "41 d"),
    (None, "rate", "—"), (math.nan, "count", "—"), (np.float64("nan"), "hours", "—"), (pd.NA, "rate", "—"),
    ("<11", "rate", "<11"),
]
# (value, kind, text)
CHANGES = [
    (12, "count", "+12"), (-1234.0, "count", "-1,234"), (0.012, "rate", "+1.2 pts"), (-0.05, "rate", "-5.0 pts"),
    (0.25, "hours", "+0.2 h"), (-3, "days", "-3 d"), (None, "count", "—"), ("<11", "rate", "<11"),
]


@pytest.mark.parametrize("value,kind,text", NUMBERS)
def test_number(value, kind, text):
    assert formatting.number(value, kind) == text


@pytest.mark.parametrize("value,kind,text", CHANGES)
def test_change(value, kind, text):
    assert formatting.change(value, kind) == text


def test_delta_is_none_when_a_side_is_missing_or_hidden():
    assert formatting.delta(0.81, 0.80, "rate") == "+1.0 pts"
    assert formatting.delta(120, 100) == "+20"
    assert formatting.delta(None, 0.8, "rate") is None
    assert formatting.delta("<11", 0.8, "rate") is None
    assert formatting.delta(0.8, math.nan, "rate") is None


def test_escape_html_escapes_markup_and_quotes():
    assert formatting.escape_html("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert formatting.escape_html('A & "B" \'C\'') == "A &amp; &quot;B&quot; &#x27;C&#x27;"
    assert formatting.escape_html(3) == "3"
