"""What an analyst sees: every analytics result as it may leave the room.

The analyst role sees suppressed figures only. ui.data applies for_scope() to every
result before a page sees it, so charts, tiles and tables all get the same hiding,
by the suppression declared beside the analytics function
(analytics.privacy.suppression.suppressed_by):

- a DataFrame's hidden cells become NaN (a chart leaves the point out; never 0),
  and the hidden cells are listed in df.attrs[HIDDEN] so ui.widgets.table shows
  them as "<11";
- a dataclass of KPIs (SessionRates, DoseSummary, Readmission) gets "<11" in
  place of each hidden value (ui.widgets.tile shows text as it is);
- other results (control charts, funnel plots, the period comparison, the tile
  values) go through their declared rule, as in the packet.

A function with no declaration fails closed for an analyst: the section shows a
plain "could not be computed" note rather than unsuppressed figures.

>>> for_scope(Scope(suppressed_only=True), sessions.rates_by, ("month",), {}, frame)
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from analytics.filters import Scope
from analytics.privacy.suppression import NoSuppressionRule, SuppressionSpec, suppression_mask, suppression_of

HIDDEN = "suppressed_cells"  # df.attrs key: the (index label, column) cells hidden


def hide_frame(df: pd.DataFrame, spec: SuppressionSpec) -> pd.DataFrame:
    """df with every cell the spec hides set to NaN; the hidden cells listed in attrs[HIDDEN]."""
    if df.empty:
        return df
    mask = suppression_mask(df, spec)
    out = df.copy()
    for col in mask.columns[mask.any(axis=0).to_numpy()]:
        hide = mask[col].to_numpy()
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).where(~hide, np.nan)
    # A tuple of (label, column) pairs: attrs must stay comparable (pd.concat compares them)
    # and JSON-serialisable (pyarrow writes them into the table metadata st.dataframe sends).
    out.attrs[HIDDEN] = tuple((idx, str(col)) for col in mask.columns for idx in mask.index[mask[col].to_numpy()])
    return out


def for_scope(scope: Scope, fn: Callable, args: tuple, kwargs: dict, result: Any) -> Any:
    """result of fn(*args, **kwargs) as the scope may see it: unchanged, or suppressed for suppressed_only scopes."""
    if not scope.suppressed_only:
        return result
    rule = suppression_of(fn)
    if rule is None:
        raise NoSuppressionRule(f"no small-cell suppression declared for {fn.__module__}.{fn.__qualname__}; "
                                "not shown to this role")
    spec = None if rule.nothing_to_hide or rule.hide is not None else rule.spec_for(*args, **kwargs)
    if isinstance(result, pd.DataFrame) and spec is not None:
        return hide_frame(result, spec)
    return rule.apply(result, *args, **kwargs)


def hidden_cells(df: pd.DataFrame) -> frozenset:
    """The (index label, column) cells for_scope() hid in df (empty when none)."""
    return frozenset(tuple(cell) for cell in df.attrs.get(HIDDEN, ()))
