"""python -m analytics report: write the QI meeting packet (HTML, and a PDF of it).

$ python -m analytics report --db store.duckdb --out packet.html --pdf packet.pdf --program "Adult IOP"
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from analytics.cli.args import _iso_date, add_db_arg, add_filter_args, filters_from_args
from analytics.filters import Scope
from analytics.report.packet import build_report_html, record_report, write_pdf
from analytics.store import open_store


def add_cli_args(parser: argparse.ArgumentParser) -> None:
    add_db_arg(parser)
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--pdf", default=None, help="also print the packet to this PDF file")
    add_filter_args(parser)
    parser.add_argument("--baseline-start", type=_iso_date, default=None,
                        help="first period of the control-limit baseline (YYYY-MM-DD)")
    parser.add_argument("--baseline-end", type=_iso_date, default=None,
                        help="last period of the control-limit baseline (YYYY-MM-DD)")
    parser.add_argument("--no-laney", action="store_true", help="plain p limits on the session charts")


def cli_main(args: argparse.Namespace) -> int:
    from analytics.metrics.breakdowns import UnknownColumnError, check_filter_columns

    store = open_store(args.db)
    filters = filters_from_args(args)
    try:
        actor = f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        actor = "cli"
    scope = Scope.everything(actor=actor)
    try:
        with store.read() as cur:
            check_filter_columns(cur, filters)
    except UnknownColumnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    html_text = build_report_html(store, filters, scope, generated_by=actor,
                                  baseline_start=args.baseline_start, baseline_end=args.baseline_end,
                                  laney=not args.no_laney)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    files = {"html": str(out)}
    if args.pdf:
        write_pdf(html_text, args.pdf)
        files["pdf"] = str(args.pdf)
    record_report(store, scope, filters, files, html_text)
    print(f"wrote {out}" + (f" and {args.pdf}" if args.pdf else ""))
    return 0
