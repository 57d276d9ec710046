"""Metric definitions: one function per figure, each defined once and documented in docs/metrics.md.

Retention and survival, discharge outcomes, sessions and attendance, the weekly
dose, the therapy mix, clinical outcomes from assessment scores (measures, change,
score_weeks), breakdown dimensions, data coverage, filter options and the headline
summary. Each function takes a read cursor whose filters are bound
(analytics.store.bind_filters) and returns a small frame or a frozen
dataclass. May import analytics.store, analytics.privacy, analytics.config and
analytics.filters; never ingest, QI, report or the CLI.
"""
