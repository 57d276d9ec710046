"""python -m analytics ingest: import exports into a store, one transaction per command.

$ python -m analytics ingest --db iop.duckdb enrollments.csv sessions.csv --format json
$ python -m analytics ingest --db iop.duckdb --kind assessments fhir/Observation.ndjson
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from analytics.ingest.importer import (
    DEFAULT_MEMORY_LIMIT, MEMORY_ENV, PSEUDONYM_ENV, ImportRefused, import_files,
)
from analytics.ingest.profiles import ProfileError, load_profile
from analytics.instruments import InstrumentError
from analytics.store import StoreError, open_store
from analytics.store.schema import KINDS


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, help="the store: a DuckDB file (default: IOP_DB)")
    parser.add_argument("--kind", choices=tuple(KINDS), default=None,
                        help="what the files hold (default: detected from the headers; "
                             "an ndjson file is FHIR Bulk Data, read as assessments)")
    parser.add_argument("--profile", default=None, help="mapping profile (TOML); default: canonical format")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    parser.add_argument("--pseudonymise", action="store_true",
                        help=f"replace patient ids by keyed pseudonyms (key from {PSEUDONYM_ENV})")
    parser.add_argument("files", nargs="+", metavar="FILE")


def _print_progress(fraction: float, message: str) -> None:
    print(f"{fraction * 100:5.1f}%  {message}", file=sys.stderr, flush=True)


def cli_main(args: argparse.Namespace) -> int:
    target = args.db or os.environ.get("IOP_DB")
    if not target:
        print("error: no store given: use --db PATH or set IOP_DB", file=sys.stderr)
        return 2
    key = None
    if args.pseudonymise:
        secret = os.environ.get(PSEUDONYM_ENV)
        if not secret:
            print(f"error: --pseudonymise needs the key in the environment variable {PSEUDONYM_ENV}",
                  file=sys.stderr)
            return 2
        key = secret.encode("utf-8")
    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = args.output_format == "text"
    try:
        result = import_files(open_store(target), args.files, kind=args.kind, profile=profile,
                              actor=os.environ.get("USER", "cli"), pseudonymise_key=key,
                              progress=_print_progress if text else None,
                              memory_limit=os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT))
    except ImportRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ProfileError, InstrumentError) as exc:  # configuration: names the file, never data
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        # the store could not take it (failures.py): the cause in plain words, logged already
        print(f"error: nothing was imported. {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback, and never a message that may quote data
        if os.environ.get("IOP_DEBUG"):
            raise
        print(f"error: the import failed ({type(exc).__name__}); nothing was loaded. "
              "Set IOP_DEBUG=1 for details.", file=sys.stderr)
        return 1
    if result.warning:
        print(f"warning: {result.warning}", file=sys.stderr)
    if text:
        for f in result.files:
            fhir = "" if f.skipped is None else f", {f.skipped} skipped, {f.removed} removed"
            print(f"{f.file} ({f.kind}, batch {f.batch}): {f.rows} rows: {f.inserted} inserted, "
                  f"{f.updated} updated, {f.unchanged} unchanged, {f.rejected} rejected{fhir}")
        if any(f.rejected for f in result.files):
            print("Rejected rows and their reasons are in the store's rejects table.")
    else:
        print(json.dumps(result.as_json()))
    return 0


