"""How a figure reads as text, and how text is made safe for HTML: written once, used everywhere.

The dashboard's tiles and tables, the QI packet, control-chart signals and the CSV
exports format a value with number() and a change with change(); every text that
goes into HTML or a Plotly label (which renders a subset of HTML) goes through
escape_html().

Kinds: "count" 1,234; "rate" (a fraction) 81.2%; "hours" 9.5 h; "days" 41 d.
A missing value reads MISSING; a text value (a suppressed "<11") is shown as it is.

>>> number(0.8123, "rate"), change(0.012, "rate"), number(None)
('81.2%', '+1.2 pts', '—')
"""
from __future__ import annotations

import html

MISSING = "—"
KINDS = ("count", "rate", "hours", "days")


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, numpy's included
    except TypeError:
        return True  # pandas' NA, whose comparisons have no truth value


# kind -> (scale, as a value, as a signed change); counts are written apart (whole numbers)
_UNITS = {
    "rate": (100, "{:.1f}%", "{:+.1f} pts"),
    "hours": (1, "{:.1f} h", "{:+.1f} h"),
    "days": (1, "{:.0f} d", "{:+.0f} d"),
}


def number(value: object, kind: str = "count") -> str:
    """A value as text: 'count' 1,234; 'rate' 81.2%; 'hours' 9.5 h; 'days' 41 d; None -> '—'."""
    if isinstance(value, str):
        return value  # already text, e.g. a suppressed '<11'
    if _missing(value):
        return MISSING
    if kind in _UNITS:
        scale, plain, _ = _UNITS[kind]
        return plain.format(scale * float(value))
    return f"{int(value):,}"


def change(value: object, kind: str = "count") -> str:
    """A difference as text, signed: rates in percentage points ('+1.2 pts'), counts '+1,234'."""
    if isinstance(value, str):
        return value
    if _missing(value):
        return MISSING
    if kind in _UNITS:
        scale, _, signed = _UNITS[kind]
        return signed.format(scale * float(value))
    return f"{float(value):+,.0f}"


def delta(current: object, previous: object, kind: str = "count") -> str | None:
    """change() from previous to current, or None when either is missing or hidden (text)."""
    if _missing(current) or _missing(previous) or isinstance(current, str) or isinstance(previous, str):
        return None
    if kind == "count":
        return change(int(current) - int(previous), kind)
    return change(float(current) - float(previous), kind)


def escape_html(value: object) -> str:
    """Any text made safe inside HTML and Plotly labels (imported names can hold markup).

    >>> escape_html("<img src=x onerror=alert('x')>")
    '&lt;img src=x onerror=alert(&#x27;x&#x27;)&gt;'
    """
    return html.escape(str(value), quote=True)
