"""CSV downloads that a spreadsheet cannot turn into formulas, and audited exports.

Why: a site, clinician or free-text value from an EHR export such as
`=HYPERLINK("http://x","y")` becomes a live formula when a CSV is opened in
Excel or LibreOffice (CSV injection, OWASP). Text cells that start with one of
= + - @ TAB CR are prefixed with a single quote, which spreadsheets show as
text. Numbers, negative ones included, are left as numbers.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import pandas as pd

# The characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# A cell that is exactly a number written as text ("-3", "+1.5e3") is a number to a
# spreadsheet, not a formula, and suppressed tables carry such cells beside "<11".
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """A text value made safe for a spreadsheet; any other value unchanged.

    >>> neutralise_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise_cell("-3"), neutralise_cell(-3), neutralise_cell("North")
    ('-3', -3, 'North')
    """
    if not isinstance(value, str) or not value:
        return value
    # Leading blanks do not stop some spreadsheets from evaluating what follows.
    head = value.lstrip(" ")
    if head.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of df whose text cells and column names cannot act as formulas."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue  # numbers and timestamps cannot carry a formula
        out[col] = series.astype(object).map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def safe_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV (RFC 4180, CRLF rows) of df without its index, formula-like text neutralised.

    CRLF as the row end makes the writer quote any cell holding a CR or LF, so a
    stray carriage return cannot split a row.
    >>> safe_csv_bytes(pd.DataFrame({"site": ["=1+1"], "n": [-4]}))
    b"site,n\\r\\n'=1+1,-4\\r\\n"
    """
    return safe_frame(df).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def export_table(df: pd.DataFrame, spec: Any) -> bytes:
    """The CSV a user may take away: small cells suppressed, then formulas neutralised."""
    from analytics.privacy.suppression import suppress_table

    return safe_csv_bytes(suppress_table(df, spec))


def audited(store: Any, actor: str, action: str, detail: dict, make: Callable[[], bytes]) -> bytes:
    """Build an export's bytes and record who took it, in one write transaction.

    The audit row and the export succeed or fail together: if the row cannot be
    written, no bytes are handed out.
    >>> data = audited(store, "ana@example.org", "export", {"table": "attendance"}, lambda: b"...")
    """
    from analytics.privacy.audit import record

    payload = make()
    with store.write() as cur:
        record(cur, actor, action, {**detail, "bytes": len(payload)})
    return payload
