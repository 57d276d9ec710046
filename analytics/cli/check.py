"""python -m analytics check: read every table of the store to the end, with DuckDB's checksums.

Prints "ok" and each table's rows, or exactly what is damaged (exit status 1).
On DuckLake every data file the catalog names must exist and read.

$ python -m analytics check --db iop.duckdb
ok: /srv/iop.duckdb reads whole (52 blocks)
  enrollments      29000 rows
"""
from __future__ import annotations

import argparse
import json

from analytics.cli.args import add_db_arg
from analytics.store import default_target, open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")


def cli_main(args: argparse.Namespace) -> int:
    report = open_store(args.db or default_target()).check()
    if args.format == "json":
        print(json.dumps(report.as_json(), default=str))
        return 0 if report.ok else 1
    if report.ok:
        blocks = report.details.get("blocks")
        files = report.details.get("data_files")
        extent = f" ({blocks} blocks)" if blocks is not None else f" ({files} data files)" if files is not None else ""
        print(f"ok: {report.target} reads whole{extent}")
    else:
        print(f"damaged: {report.target}")
        for problem in report.problems:
            print(f"  {problem}")
        print("Restore it from a backup, or rebuild it from the original exports (docs/deploy.md, \"Recovery\"); "
              "the import journal beside the store lists every file imported.")
    width = max((len(t) for t in report.tables), default=0)
    for table, rows in report.tables.items():
        print(f"  {table:<{width}}  " + ("cannot be read" if rows is None else f"{rows} rows"))
    return 0 if report.ok else 1
