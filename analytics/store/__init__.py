"""The store: where imported rows live, and the one way to read or write them.

Owns the DuckDB connection of the process, the two backends (an embedded DuckDB
file, and DuckLake with a PostgreSQL catalog for an organisation), the table
definitions and their versions (schema), the SQL macros every query starts from
(the episode selection, the status counts) and running a named query from
analytics/sql/ with bound filters. May import analytics.config and
analytics.filters only: everything else in analytics builds on it.
"""
