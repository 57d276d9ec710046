"""Importing EHR exports: readers, mapping profiles, row checks, rejects, the import log.

Every input row is either loaded or kept in the rejects table with its line and
reasons; a command is one transaction. importer.import_files runs a command
through its steps, one module each: files (the bytes and whole-file refusals),
readers (headers, kind, column plan), staging (pass 1 into temp tables), lines
(physical line numbers), pseudonyms (and the store's record of them), and apply
(checks across rows, rejects, and the batch written through the store's
interface); fhir reads FHIR Bulk Data ndjson as assessments. The kinds of export
are declared once, in analytics.store.schema.KINDS. Also here: the profiles
(config/profiles/*.toml), the import history the Data page lists, and building
the bundled sample store.
May import analytics.store, analytics.privacy (the audit trail), analytics.config,
analytics.instruments and analytics.filters; never the metrics, QI, report or CLI layers.
"""
