"""python -m analytics migrate: bring a store made by an earlier version up to date.

Any write does this by itself (an import, for example); this command does only
that, for a store the dashboard, which opens stores read-only, refused.

$ python -m analytics migrate --db iop.duckdb
schema 1 -> 2: assessments, referrals and instrument definitions; enrollments gain first_contact_date
"""
from __future__ import annotations

import argparse
import json
import sys

from analytics.cli.args import add_db_arg
from analytics.store import default_target, open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _print_progress(fraction: float, message: str) -> None:
    print(f"{fraction * 100:5.1f}%  {message}", file=sys.stderr, flush=True)


def cli_main(args: argparse.Namespace) -> int:
    store = open_store(args.db or default_target())
    text = args.format == "text"
    before, after = store.bring_up_to_date(_print_progress if text else None)
    applied = store.last_migration[1] if store.last_migration else ()
    if text:
        if before == after:
            print(f"the store is at schema {after} already; nothing to do")
        else:
            print(f"schema {before} -> {after}: " + "; ".join(applied))
    else:
        print(json.dumps({"from": before, "to": after, "applied": list(applied)}))
    return 0
