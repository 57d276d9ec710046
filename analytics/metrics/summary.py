"""The headline metrics in one call, and the `python -m analytics metrics` command.

summary() opens one read cursor, binds the filters once, and calls the
functions that define each figure (retention, outcomes, sessions, dose, mix, access),
so the CLI, the pages and the exports show the same numbers.

>>> summary(open_store("sample_data/sample.duckdb")).to_dict()["retention"]
{'week_4': 0.83..., 'week_8': 0.71..., 'week_12': 0.66...}

$ python -m analytics metrics --db store.duckdb --site North --format json
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import pandas as pd

from analytics.metrics import dose
from analytics.metrics import intake
from analytics.metrics import measures
from analytics.metrics import mix
from analytics.metrics import discharges
from analytics.metrics import retention
from analytics.metrics import sessions
from analytics.metrics.breakdowns import check_filter_columns
from analytics.filters import EVERYTHING, Filters, Scope
from analytics.store import Store, bind_filters, sql_text

HEADLINE_WEEKS = (4, 8, 12)


@dataclass(frozen=True)
class Summary:
    """The headline figures for one filter set. Rates are unrounded fractions in [0, 1];
    None (JSON null) when the selection has nothing to divide by."""

    as_of: date | None
    episodes: int
    active_episodes: int
    discharged: int
    completion_rate: float | None
    median_los_days: float | None
    retention: dict[str, float | None]  # week_4, week_8, week_12: 1 - CIF_unplanned(7w)
    in_program: dict[str, float | None]  # week_4, ...: Kaplan-Meier P(time > 7w)
    readmission_30d: float | None
    readmission_90d: float | None
    attendance_rate: float | None
    no_show_rate: float | None
    patient_cancellation_rate: float | None
    session_completion_rate: float | None
    expected_sessions: int
    therapy_mix: dict[str, float] = field(default_factory=dict)
    episode_weeks: int = 0
    median_weekly_hours: float | None = None
    dose_target_met_rate: float | None = None
    # clinical outcome measures per instrument in force (measures.MEASURE_KEYS each)
    measures: dict[str, dict] = field(default_factory=dict)
    # waits, NIATx continuation, IET-style initiation and engagement, referral outcomes
    # (analytics.metrics.intake; the keys of intake.ACCESS_KEYS)
    access: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready keys (as_of as 'YYYY-MM-DD'), in the order of docs/metrics.md."""
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        return out


def summary(store: Store, filters: Filters = Filters(), scope: Scope = EVERYTHING) -> Summary:
    """Every headline figure for the episodes `filters` select within `scope`.

    Raises UnknownColumnError when a COLUMN=VALUE filter names a column the store lacks.
    """
    with store.read() as cur:
        check_filter_columns(cur, filters)
        as_of = bind_filters(cur, filters, scope)
        # one scan of the episodes serves the outcome counts and the survival estimates
        counts = retention.event_counts(cur)
        out = discharges.outcome_summary(cur, counts, with_patients=False)
        ret, in_prog = retention.headline(cur, HEADLINE_WEEKS, counts=counts)
        readmit = discharges.readmission_rates(cur)
        rates, therapy = _session_figures(cur)
        dosage = dose.dose_summary(cur)
        outcome_measures = {name: m.to_dict() for name, m in measures.measures(cur, with_patients=False).items()}
        access = intake.access_summary(cur, patients=False).to_dict()
    return Summary(
        as_of=as_of,
        episodes=out.episodes,
        active_episodes=out.active_episodes,
        discharged=out.discharged,
        completion_rate=out.completion_rate,
        median_los_days=out.median_los_days,
        retention=ret,
        in_program=in_prog,
        readmission_30d=readmit[30].rate,
        readmission_90d=readmit[90].rate,
        attendance_rate=rates["attendance_rate"],
        no_show_rate=rates["no_show_rate"],
        patient_cancellation_rate=rates["patient_cancellation_rate"],
        session_completion_rate=rates["session_completion_rate"],
        expected_sessions=rates["expected"],
        therapy_mix=therapy,
        episode_weeks=dosage.episode_weeks,
        median_weekly_hours=dosage.median_weekly_hours,
        dose_target_met_rate=dosage.dose_target_met_rate,
        measures=outcome_measures,
        access=access,
    )


def _session_figures(cur) -> tuple[dict[str, object], dict[str, float]]:
    """The session counts and rates (as sessions.session_rates() gives them, without
    the distinct patients, which the summary does not show) and the therapy mix
    (as mix.therapy_mix()), from one statement, session_summary.sql: both come from
    the counts per session type, so the sessions are scanned and joined to the
    episodes once."""
    table = cur.execute(sql_text("metrics/session_summary"), sessions.session_params()).df()
    shares = pd.DataFrame(list(table.at[0, "mix"]), columns=["session_type", "share"])
    return sessions.counts_and_rates(table), mix.shares_from_table(shares)
