"""python -m analytics backup: a consistent copy of an embedded store, while the dashboard runs.

The copy is checked before it gets its name, and the import journal is copied
beside it. A DuckLake is backed up with its own tools (docs/deploy.md, "Recovery").

$ python -m analytics backup --db /srv/iop.duckdb --out /backup/iop-2025-03-01.duckdb
"""
from __future__ import annotations

import argparse
import json

from analytics.cli.args import add_db_arg
from analytics.store import default_target, open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    parser.add_argument("--out", required=True, metavar="FILE", help="the copy to write (replaced if it exists)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def cli_main(args: argparse.Namespace) -> int:
    done = open_store(args.db or default_target()).backup(args.out)
    if args.format == "json":
        print(json.dumps(done, default=str))
    else:
        rows = sum(r or 0 for r in done["tables"].values())
        print(f"copied {done['store']} to {done['backup']} ({done['bytes']} bytes, {rows} rows, checked)")
    return 0
