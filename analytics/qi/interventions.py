"""Interventions ("started text reminders", a date, a note): recorded in the store, marked on every control chart.

>>> record_intervention(store, date(2026, 3, 2), "Text reminders", "SMS the day before", None, None, "ana")
>>> with store.read() as cur:
...     bind_filters(cur, Filters()); list_interventions(cur)
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb
import pandas as pd

from analytics.privacy import audit
from analytics.store import Store, fetch_df
from analytics.privacy.suppression import suppressed_by

MAX_TITLE = 120
MAX_NOTE = 2000


def record_intervention(
    store: Store,
    on_date: date,
    title: str,
    note: str = "",
    site: str | None = None,
    program: str | None = None,
    actor: str = "local",
) -> int:
    """Store one intervention (site/program None: applies to all) and an audit row; returns its id."""
    title = (title or "").strip()
    if not title:
        raise ValueError("An intervention needs a title.")
    if len(title) > MAX_TITLE or len(note or "") > MAX_NOTE:
        raise ValueError(f"Title at most {MAX_TITLE} characters, note at most {MAX_NOTE}.")
    with store.write() as cur:
        new_id = cur.execute(
            "SELECT coalesce(max(intervention_id), 0) + 1 FROM store.interventions"
        ).fetchone()[0]
        cur.execute(
            """INSERT INTO store.interventions
               (intervention_id, on_date, title, note, site, program, recorded_by, recorded_at)
               VALUES ($id, $on_date, $title, $note, $site, $program, $actor, $at)""",
            {
                "id": new_id, "on_date": on_date, "title": title, "note": note or "",
                "site": site or None, "program": program or None, "actor": actor,
                "at": datetime.now(timezone.utc).replace(tzinfo=None),
            },
        )
        # The title and note are staff text about a process change, not patient data.
        audit.record(cur, actor, "intervention", {
            "intervention_id": int(new_id), "on_date": on_date, "site": site, "program": program,
        })
    return int(new_id)


@suppressed_by(nothing_to_hide="changes the team recorded, with no figures")
def list_interventions(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Interventions in view of the cursor's bound filters and scope, by date.

    Columns: intervention_id, on_date, title, note, site, program, recorded_by, recorded_at.
    """
    return fetch_df(cur, "qi/interventions")
