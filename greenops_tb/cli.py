"""``greenops-tb`` / ``python -m greenops_tb``: one sub-command per module in greenops_tb.commands.

Each command module has ``add_parser(subparsers)`` (registering its parser with
``func=run``) and ``run(args) -> int``. Exit codes: 0 ok, 1 the check failed
(e.g. ``verify`` found a broken chain), 2 bad usage or unreadable input.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import warnings
from typing import Sequence, TextIO

from greenops_tb import __version__

COMMANDS = ("doctor", "zones", "export", "summary", "compare", "verify", "whatif", "report", "inference")
EXIT_BROKEN_PIPE = 141  # what a shell reports for a writer stopped by SIGPIPE (e.g. `greenops-tb export | head`)

_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")  # :func:`a.b.c` -> a.b.c, :func:`~a.b.c` -> c (as Sphinx shows them)


def plain_text(text: str | None) -> str | None:
    """A docstring as ``--help`` shows it: Sphinx roles and double back-quotes become plain text."""
    if not text:
        return text
    text = _ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2), text)
    return text.replace("``", "")


def _plain_help(parser: argparse.ArgumentParser) -> None:
    """Plain-text descriptions and help strings for ``parser`` and all its sub-command parsers."""
    parser.description = plain_text(parser.description)
    for action in parser._actions:
        action.help = plain_text(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for listed in action._choices_actions:
                listed.help = plain_text(listed.help)
            for sub in action.choices.values():
                _plain_help(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenops-tb", description="Measure and analyse the energy, CO2 and cost of PyTorch training."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"greenops-tb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"greenops_tb.commands.{name}").add_parser(sub)
    _plain_help(parser)  # the commands' docstrings are their descriptions
    return parser


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """A warning as the command's user reads it: one line on stderr, without the code location."""
    print(f"warning: {str(message).removeprefix('greenops_tb: ')}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader closed the pipe (`| head`): stop quietly, and keep the interpreter's final flush quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
