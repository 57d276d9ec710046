"""python -m analytics metrics: the headline figures for a filter set, as JSON or text.

$ python -m analytics metrics --db store.duckdb --site North --format json
"""
from __future__ import annotations

import argparse
import json
import sys

from analytics.cli.args import add_db_arg, add_filter_args, filters_from_args
from analytics.metrics.breakdowns import UnknownColumnError
from analytics.metrics.summary import summary
from analytics.store import open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    add_filter_args(parser)
    parser.add_argument("--format", choices=("json", "text"), default="json",
                        help="json (one object) or text (one figure a line)")


def _text_lines(values: dict, prefix: str = "") -> list[str]:
    lines = []
    for key, value in values.items():
        if isinstance(value, dict):
            if not value:
                lines.append(f"{prefix}{key}: -")
            lines += _text_lines(value, prefix=f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key}: {'-' if value is None else value}")
    return lines


def cli_main(args: argparse.Namespace) -> int:
    """Print the summary; an unknown --filter column is a one-line error and exit status 2."""
    store = open_store(args.db)
    try:
        result = summary(store, filters_from_args(args))
    except UnknownColumnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    values = result.to_dict()
    if args.format == "json":
        print(json.dumps(values, indent=2))
    else:
        print("\n".join(_text_lines(values)))
    return 0
