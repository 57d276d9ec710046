"""Loading DuckDB extensions from their pinned pip wheels, never from the network."""
from __future__ import annotations

import duckdb
from duckdb_extensions import import_extension

# Names are fixed here; LOAD cannot take a bound parameter.
_LOAD = {
    "excel": "LOAD excel",
    "encodings": "LOAD encodings",
    "postgres": "LOAD postgres",
    "ducklake": "LOAD ducklake",
}


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    """Install each extension from its wheel (a local file copy) and load it.

    >>> con = duckdb.connect(); load_extensions(con, ("excel",))
    """
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    for name in names:
        import_extension(name, con=con)
        con.execute(_LOAD[name])
