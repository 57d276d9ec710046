"""Data coverage: what each site's exports hold, and which sites' data stop early.

A site whose last session lies well before as_of (the latest date anywhere in
the store) has probably not sent its latest export. Its recent weeks would
otherwise read as missed sessions, so the Data page and the Overview flag it.

>>> with store.read() as cur:
...     bind_filters(cur, Filters())
...     lagging_sites(cur)
('East',)
"""
from __future__ import annotations

import duckdb
import pandas as pd

from analytics.metrics.sessions import session_params
from analytics.store import sql_text
from analytics.privacy.suppression import RateSpec, suppressed_by, table_spec

# A site is flagged when its last session is more than this many days before as_of:
# IOP patients attend several times a week, so two quiet weeks at a whole site
# are far likelier a missing export than a real pause.
LAG_FLAG_DAYS = 14


@suppressed_by(table_spec(("episodes", "patients"), ("sessions",)))
def coverage_by_site_month(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Sessions, episodes and patients per site and month ('YYYY-MM'), selected sessions."""
    return cur.execute(sql_text("metrics/coverage_by_site_month")).df()


# Every site is listed, so the episodes add up to the total in view.
@suppressed_by(table_spec(("episodes",), group=None, rates=(RateSpec("sessions", None, "episodes"),),
                          column_totals=True))
def site_last_dates(cur: duckdb.DuckDBPyConnection, flag_days: int = LAG_FLAG_DAYS) -> pd.DataFrame:
    """Per site: episodes, sessions, first_session, last_session, last_admission, as_of,
    lag_days (as_of - last_session) and lagging (no session, or lag_days > flag_days)."""
    out = cur.execute(sql_text("metrics/site_last_dates"), session_params()).df()
    lag = pd.to_numeric(out["lag_days"], errors="coerce")
    out["lagging"] = out["last_session"].isna() | (lag > flag_days)
    return out


def lagging_sites(cur: duckdb.DuckDBPyConnection, flag_days: int = LAG_FLAG_DAYS) -> tuple[str, ...]:
    """The sites whose data stop more than flag_days before as_of (see site_last_dates)."""
    table = site_last_dates(cur, flag_days)
    return tuple(str(s) for s in table.loc[table["lagging"], "site"])
