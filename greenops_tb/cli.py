"""``greenops-tb`` / ``python -m greenops_tb``: one sub-command per module in greenops_tb.commands.

Each command module has ``add_parser(subparsers)`` (registering its parser with
``func=run``) and ``run(args) -> int``. Exit codes: 0 ok, 1 the check failed
(e.g. ``verify`` found a broken chain), 2 bad usage or unreadable input.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

COMMANDS = ("doctor", "zones", "export", "summary", "compare", "verify", "whatif", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenops-tb", description="Measure and analyse the energy, CO2 and cost of PyTorch training."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"greenops_tb.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
