"""Importing EHR exports: readers, mapping profiles, row checks, rejects, the import log.

Every input row is either loaded or kept in the rejects table with its line and
reasons; a command is one transaction. Owns the profiles (config/profiles/*.toml),
the import history the Data page lists, and building the bundled sample store.
May import analytics.store, analytics.privacy (the audit trail), analytics.config
and analytics.filters; never the metrics, QI, report or CLI layers.
"""
