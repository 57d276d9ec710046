"""python -m analytics prune-history: forget the old values that batches older than some days replaced.

The history keeps every row an import replaced or removed until this is run; after
it, batches finished more than DAYS ago (and every earlier one) can no longer be
listed in full nor undone. The pruning is written to the audit trail.

$ python -m analytics prune-history --db iop.duckdb --older-than 365
"""
from __future__ import annotations

import argparse
import json
import os

from analytics.cli.args import add_db_arg
from analytics.ingest.batches import prune_history
from analytics.store import StoreError, default_target, open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    parser.add_argument("--older-than", type=int, required=True, metavar="DAYS",
                        help="forget what batches finished more than DAYS ago replaced or removed")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def cli_main(args: argparse.Namespace) -> int:
    if args.older_than < 0:
        raise StoreError("--older-than must be 0 or more days")
    done = prune_history(open_store(args.db or default_target()), args.older_than,
                         actor=os.environ.get("USER", "cli"))
    if args.format == "json":
        print(json.dumps(done))
    elif done["through_batch"] is None:
        print(f"no batch finished more than {args.older_than} days ago; nothing pruned")
    else:
        print(f"history pruned through batch {done['through_batch']}: {done['versions_pruned']} old versions "
              "forgotten")
    return 0
