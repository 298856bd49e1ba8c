"""``greenops-tb verify FILE.csv|RUN_DIR``: check a live CSV's hash chain and report the first broken row.

The chain (``hash_chain=True`` on the writer, :mod:`greenops_tb.format.hashchain`)
detects an edited cell, a removed, inserted or reordered row. Rows cut from the
end leave a valid chain, so the CSV is also checked against the event files of
its run (every record there carries its row's hash): by default the CSV's own
directory, or ``--events RUN_DIR``. Given a run directory, ``verify`` checks its
``green.csv``. An incomplete last line (a truncated file,
or a run killed mid-write) fails too, and so do bytes that are not UTF-8. The event files
are read directly, so every record they hold counts (a loader keeps one per tag and step).

Exit codes: 0 intact, 1 broken (the first bad row is named), 2 unreadable input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from greenops_tb.format import hashchain
from greenops_tb.format.columns import CHAIN_COLUMN, CSV_NAME, REQUIRED_COLUMNS, unneutralise_text
from greenops_tb.format.csvtext import Decoded
from greenops_tb.readers.csv import load_table
from greenops_tb.readers.events import file_records
from greenops_tb.readers.runs import InputError, event_files


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("verify", help="check a live CSV's hash chain; report the first broken row",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", metavar="FILE.csv|RUN_DIR",
                   help=f"a CSV written with hash_chain=True, or a run directory (its {CSV_NAME})")
    p.add_argument("--events", metavar="RUN_DIR", help="the run's event files (default: the CSV's directory)")
    p.set_defaults(func=run)


def csv_of(path: Path) -> Path:
    """The CSV to check: ``path`` itself, or a run directory's ``green.csv``."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if not path.is_dir():
        return path
    if (path / CSV_NAME).is_file():
        return path / CSV_NAME
    found = sorted(p.name for p in path.glob("*.csv"))
    raise InputError(f"{path}: a directory without {CSV_NAME}; pass the run's CSV"
                     + (f" ({', '.join(found)} here)" if found else " (no CSV here)"))


def _read(path: Path) -> tuple[list[str], list[list[str]], bool, Decoded]:
    """(header, complete rows, whether the last line is incomplete, what decoding skipped)."""
    if not path.is_file():
        raise InputError(f"{path}: not a file; pass the run's CSV ({CSV_NAME} by default)")
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 1))
            torn = size > 0 and f.read(1) != b"\n"
        header, rows, decoded = load_table(path)
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err})") from err
    if not header:
        raise InputError(f"{path}: empty file (no header)")
    if not REQUIRED_COLUMNS <= set(header):
        raise InputError(f"{path}: not a CSV written by greenops_tb (its header lacks "
                         f"{', '.join(sorted(REQUIRED_COLUMNS - set(header)))}); pass the run's {CSV_NAME}")
    if CHAIN_COLUMN not in header:
        raise InputError(f"{path}: no {CHAIN_COLUMN!r} column; it was written without hash_chain=True, "
                         "so there is nothing to verify")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise InputError(f"{path}: data row {i + 1} (line {i + 2}) has {len(row)} cells but the header has "
                             f"{len(header)}; the file was edited or is not one CSV (rows are never short or long)")
    return header, rows, torn, decoded


def _event_hashes(run_dir: Path, run_name: str) -> list[str] | None:
    """Chain hashes of ``run_name``'s records in the event files under ``run_dir``, every one the files hold
    (None: no events)."""
    if not run_dir.is_dir() or not event_files(run_dir):
        return None
    records, malformed = file_records(event_files(run_dir))
    if malformed:
        print(f"{run_dir}: {malformed} malformed records skipped", file=sys.stderr)
    records = [r for r in records if r.run == run_name and r.chain_hash]
    return [r.chain_hash for r in sorted(records, key=lambda r: r.seq)] or None


def check(path: Path, events: Path | None) -> tuple[int, str]:
    """(exit code, message) for the CSV at ``path``."""
    header, rows, torn, decoded = _read(path)
    if decoded.skipped:
        return 1, (f"BROKEN at line {decoded.first_line}: {decoded.note()}; the writer writes UTF-8 only, "
                   "so the file was edited or damaged")
    result = hashchain.verify(header, rows)
    if not result.ok:
        n = result.bad_row if result.bad_row is not None else 0
        return 1, f"BROKEN at data row {n + 1} (line {n + 2}): {result.message}"
    if torn:
        return 1, (f"BROKEN after data row {len(rows)} (line {len(rows) + 2}): the last line is incomplete; "
                   "the file was truncated or the run was killed mid-write")
    if not rows:
        return 0, "OK: header only, no rows"
    ci = header.index(CHAIN_COLUMN)
    run_name = unneutralise_text(rows[0][header.index("run")]) if "run" in header else ""  # the cell as written
    ev = _event_hashes(events or path.parent, run_name)
    if ev is None:
        return 0, (f"OK: {_count(len(rows), 'row')}, chain intact (no event files with this run's hashes found, so rows "
                   "removed from the end cannot be detected; pass --events RUN_DIR)")
    in_csv = {row[ci] for row in rows}
    missing = [i for i, h in enumerate(ev) if h not in in_csv]
    if missing:
        return 1, (f"BROKEN after data row {len(rows)} (line {len(rows) + 2}): the event files hold {_count(len(ev), 'record')} "
                   f"of this run but {_rows_missing(len(missing))} from the CSV (removed or truncated)")
    return 0, f"OK: {_count(len(rows), 'row')}, chain intact, matches the {_count(len(ev), 'record')} in the event files"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _rows_missing(n: int) -> str:
    return f"{n} of their rows {'is' if n == 1 else 'are'} missing"


def run(args: argparse.Namespace) -> int:
    try:
        code, message = check(csv_of(Path(args.csv).expanduser()), Path(args.events) if args.events else None)
    except InputError as err:
        print(f"greenops-tb verify: {err}", file=sys.stderr)
        return 2
    print(message, file=sys.stdout if code == 0 else sys.stderr)
    return code
