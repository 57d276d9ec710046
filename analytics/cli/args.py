"""Command-line arguments shared by the metrics and report commands."""
from __future__ import annotations

import argparse
from datetime import date

from analytics.filters import Filters


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _column_value(text: str) -> tuple[str, str]:
    column, sep, value = text.partition("=")
    if not sep or not column:
        raise argparse.ArgumentTypeError(f"expected COLUMN=VALUE, got {text!r}")
    return column.strip(), value


def add_db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", default=None,
        help="store: a DuckDB file path or a ducklake: target (default: IOP_DB, else the sample store)",
    )


def add_filter_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=_iso_date, default=None, help="data cutoff date (YYYY-MM-DD)")
    parser.add_argument("--site", action="append", default=[], help="site to include (repeatable)")
    parser.add_argument("--program", action="append", default=[], help="program to include (repeatable)")
    parser.add_argument(
        "--filter", action="append", default=[], type=_column_value, metavar="COLUMN=VALUE",
        help="extra enrollment column filter (repeatable)",
    )
    parser.add_argument("--admitted-from", type=_iso_date, default=None)
    parser.add_argument("--admitted-to", type=_iso_date, default=None)


def filters_from_args(args: argparse.Namespace) -> Filters:
    return Filters(
        admitted_from=args.admitted_from,
        admitted_to=args.admitted_to,
        sites=tuple(args.site),
        programs=tuple(args.program),
        extra=tuple(args.filter),
        as_of=args.as_of,
    )
