"""Quality-improvement statistics: control charts, funnel plots, periods, targets, the at-risk list, interventions.

Built on the metric definitions (analytics.metrics), never redefining them: a
control chart's points add up to the headline figure. May import
analytics.metrics, analytics.store, analytics.privacy, analytics.config and
analytics.filters; never report or the CLI.
"""
