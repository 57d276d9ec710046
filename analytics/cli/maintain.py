"""python -m analytics maintain: settle, compact and expire a DuckLake store.

$ python -m analytics maintain --db ducklake:postgres:dbname=iop host=127.0.0.1 --older-than 7
"""
from __future__ import annotations

import argparse
import json
import sys

from analytics.store import StoreError, default_target, open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    from analytics.cli.args import add_db_arg

    add_db_arg(parser)
    parser.add_argument(
        "--older-than", type=int, default=7, metavar="DAYS",
        help="expire snapshots and delete unused files older than DAYS (default 7)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")


def cli_main(args: argparse.Namespace) -> int:
    store = open_store(args.db or default_target())
    if not store.needs_maintenance:
        raise StoreError("maintain works on a DuckLake store (--db ducklake:postgres:...); "
                         "an embedded file needs no maintenance")
    if args.older_than < 0:
        raise StoreError("--older-than must be 0 or more days")
    done = store.maintain(args.older_than)
    if args.format == "json":
        print(json.dumps(done, sort_keys=True))
    else:
        for key, value in done.items():
            print(f"{key}: {value}")
    sys.stdout.flush()
    return 0
