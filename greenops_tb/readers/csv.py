"""Records back from a green CSV, crash-tolerant.

A run killed mid-write leaves at most one incomplete last line (no trailing
newline); it is ignored here, every complete row is returned. Rows never hold
raw line breaks (the CSV sink writes one row per line), so a line is a row.
"""
from __future__ import annotations

import csv
import io
import os

from greenops_tb.columns import row_to_record
from greenops_tb.schema import Record


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
    """Complete rows as :class:`Record` (raises ValueError naming the row if one cannot be parsed)."""
    out = []
    for i, row in enumerate(read_rows(path)):
        try:
            out.append(row_to_record(row))
        except (ValueError, KeyError) as err:
            raise ValueError(f"{os.fspath(path)}: data row {i + 1} is not a green record ({err})") from None
    return out
