"""Privacy: roles and site scope, small-cell suppression, safe exports, the audit trail.

The rules that decide what a person may see and take away. Suppression specs
are declared here once per result and read by the pages, the CSV exports and
the packet alike. May import analytics.store (the audit trail is a store table),
analytics.config and analytics.filters only.
"""
