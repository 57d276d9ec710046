"""The command line: `python -m analytics` (or `iop`), one module per command.

Argument parsing and printing only; every figure comes from the layers below.
Errors a user can act on are printed as one line on stderr, never a traceback.
May import every analytics layer; nothing in analytics imports it.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# subcommand -> (module, function that adds arguments, function that runs)
COMMANDS = {
    "ingest": ("analytics.cli.ingest", "add_cli_args", "cli_main", "import exports into the store"),
    "metrics": ("analytics.cli.metrics", "add_cli_args", "cli_main", "print the headline metrics"),
    "report": ("analytics.cli.report", "add_cli_args", "cli_main", "write the QI meeting packet"),
    "maintain": ("analytics.cli.maintain", "add_cli_args", "cli_main", "compact and expire a DuckLake store"),
    "migrate": ("analytics.cli.migrate", "add_cli_args", "cli_main",
                "bring a store made by an earlier version up to date"),
    "changes": ("analytics.cli.changes", "add_cli_args", "cli_main",
                "list what one import batch inserted, updated and deleted"),
    "undo": ("analytics.cli.undo", "add_cli_args", "cli_main", "reverse one import batch"),
    "prune-history": ("analytics.cli.prune_history", "add_cli_args", "cli_main",
                      "forget the old values that batches older than some days replaced"),
    "check": ("analytics.cli.check", "add_cli_args", "cli_main",
              "read the whole store and report what is damaged, if anything"),
    "backup": ("analytics.cli.backup", "add_cli_args", "cli_main",
               "write a consistent copy of the store (while the dashboard runs)"),
}

# Commands that read; with no --db and no IOP_DB they use the bundled sample store.
# An import always names its store, so real data never lands in the sample store by accident.
READS_SAMPLE_BY_DEFAULT = ("metrics", "report")


def main(argv: list[str] | None = None, prog: str = "python -m analytics") -> int:
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command", required=True)
    # Only the named command's module is imported: the others pull in pandas and
    # Plotly (about 0.6 CPU-s), which an import does not need. --help lists them all.
    argv = sys.argv[1:] if argv is None else argv
    chosen = {argv[0]: COMMANDS[argv[0]]} if argv and argv[0] in COMMANDS else COMMANDS
    for name, (module, add_args, _, help_text) in chosen.items():
        p = sub.add_parser(name, help=help_text)
        getattr(importlib.import_module(module), add_args)(p)
    args = parser.parse_args(argv)
    module, _, run, _ = COMMANDS[args.command]
    from analytics.store import StoreError

    try:
        if args.command in READS_SAMPLE_BY_DEFAULT and not args.db and not os.environ.get("IOP_DB"):
            # Like the dashboard: with no store named, read the bundled synthetic sample.
            from analytics.ingest.sample_store import ensure_sample_store

            ensure_sample_store()
        return int(getattr(importlib.import_module(module), run)(args) or 0)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def iop() -> int:
    """The `iop` console script: the same commands, named `iop` in usage and help."""
    return main(prog="iop")
