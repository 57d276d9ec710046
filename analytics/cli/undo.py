"""python -m analytics undo: reverse one import batch, in one transaction, as a batch of its own.

$ python -m analytics undo --db iop.duckdb --batch 7
batch 7 undone by batch 12: 1 row removed, 1 row put back to its old values, 0 rows restored
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from analytics.cli.args import add_db_arg
from analytics.ingest.batches import UndoRefused, undo_batch
from analytics.store import default_target, open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    parser.add_argument("--batch", type=int, required=True, help="the batch number to reverse")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def cli_main(args: argparse.Namespace) -> int:
    store = open_store(args.db or default_target())
    try:
        done = undo_batch(store, args.batch, actor=os.environ.get("USER", "cli"))
    except UndoRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps({"batch": done.batch, "undoes": done.undoes, "kind": done.kind, "inserted": done.inserted,
                          "updated": done.updated, "deleted": done.deleted}))
    else:
        print(f"batch {done.undoes} undone by batch {done.batch} ({done.kind}): {done.deleted} removed, "
              f"{done.updated} put back to their old values, {done.inserted} restored")
    return 0
