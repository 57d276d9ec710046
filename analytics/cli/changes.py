"""python -m analytics changes: what one import batch inserted, updated (old and new values) and deleted.

Old values are patient rows as they were, so this is for the people who run the
store (as a director is on the dashboard), and each listing is written to the
audit trail first.

$ python -m analytics changes --db iop.duckdb --batch 7
batch 7: enrollments.csv (enrollments): 1 inserted, 1 updated, 0 deleted
updated E000123: site Northgate -> Hillcrest
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from analytics.cli.args import add_db_arg
from analytics.filters import Scope
from analytics.ingest.batches import DEFAULT_LIMIT, BatchNotFound, batch_changes
from analytics.store import default_target, open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    parser.add_argument("--batch", type=int, required=True, help="the batch number (import log, ingest's output)")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                        help=f"list at most this many rows of each change (default {DEFAULT_LIMIT}; "
                             "the counts are always whole)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def cli_main(args: argparse.Namespace) -> int:
    store = open_store(args.db or default_target())
    actor = os.environ.get("USER", "cli")
    # The command line runs with the store's own file rights: it reads as a director would.
    try:
        done = batch_changes(store, args.batch, Scope(actor=actor, role="director"), actor, max(args.limit, 0))
    except BatchNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(done.as_json(), default=str))
        return 0
    note = f" (undoes batch {done.undoes})" if done.undoes else ""
    note += f" (undone by batch {done.undone_by})" if done.undone_by else ""
    print(f"batch {done.batch}: {done.file} ({done.kind}){note}: {done.inserted} inserted, "
          f"{done.updated} updated, {done.deleted} deleted")
    for c in done.rows:
        if c.change == "updated":
            diffs = "; ".join(f"{k} {_shown(c.old.get(k))} -> {_shown(c.new.get(k))}" for k in c.changed)
            print(f"updated {c.record_id}: {diffs}")
        else:
            values = c.new if c.change == "inserted" else c.old
            print(f"{c.change} {c.record_id}: " + ", ".join(f"{k}={_shown(v)}" for k, v in values.items()))
    for change, total in (("inserted", done.inserted), ("updated", done.updated), ("deleted", done.deleted)):
        listed = sum(1 for c in done.rows if c.change == change)
        if total > listed:
            print(f"... and {total - listed} more {change} (--limit {total} lists them all)")
    return 0


def _shown(value: object) -> str:
    return "(empty)" if value is None else str(value)
