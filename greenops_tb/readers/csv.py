"""Records back from a green CSV, crash-tolerant (the file I/O; rows are decoded by
:func:`greenops_tb.format.columns.decode_rows`).

A run killed mid-write leaves at most one incomplete last line (no trailing
newline); it is ignored here, every complete row is returned. Rows never hold
raw line breaks (the CSV sink writes one row per line), so a line is a row.
"""
from __future__ import annotations

import csv
import io
import os
import warnings

from greenops_tb.format.columns import column_problems as column_problems  # the layout's; importable from here
from greenops_tb.format.columns import decode_rows
from greenops_tb.format.schema import Record


def complete_text(path: str | os.PathLike[str]) -> str:
    """The file's text up to and including its last newline."""
    with open(path, "rb") as f:
        data = f.read()
    return data[: data.rfind(b"\n") + 1].decode("utf-8")


def read_table(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """(header, data rows as lists of cells); ([], []) for an empty file."""
    rows = list(csv.reader(io.StringIO(complete_text(path), newline="")))
    return (rows[0], rows[1:]) if rows else ([], [])


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Complete data rows as ``{column: cell}`` dicts."""
    header, rows = read_table(path)
    return [dict(zip(header, r)) for r in rows]


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """Complete rows as :class:`Record`; malformed rows are skipped with ONE warning that counts them and names
    the first (see :func:`read_records_counted`). ValueError when the header is not a green CSV's."""
    records, skipped, first = read_records_counted(path)
    if skipped:
        warnings.warn(f"greenops_tb: {os.fspath(path)}: {skipped} malformed records skipped (first: {first})",
                      RuntimeWarning, stacklevel=2)
    return records


def read_records_counted(path: str | os.PathLike[str]) -> tuple[list[Record], int, str]:
    """(records of the complete rows, how many malformed rows were skipped, what was wrong with the first)."""
    header, rows = read_table(path)
    try:
        return decode_rows(header, rows)
    except ValueError as err:  # the header is not a green CSV's
        raise ValueError(f"{os.fspath(path)}: {err}") from None
