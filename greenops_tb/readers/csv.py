"""Records back from a green CSV, crash-tolerant.

A run killed mid-write leaves at most one incomplete last line (no trailing
newline); it is ignored here, every complete row is returned. Rows never hold
raw line breaks (the CSV sink writes one row per line), so a line is a row.
Cells of any length read back; bytes that are not UTF-8 are skipped and counted (one warning), and a row
whose numbers no reader can hold (:func:`in_range`) is malformed: skipped and counted like a short row.
"""
from __future__ import annotations

import io
import os
import warnings

from greenops_tb.format.columns import BASE_COLUMNS, CHAIN_COLUMN, REQUIRED_COLUMNS, WATCH_PREFIX, row_to_record
from greenops_tb.format.csvtext import Decoded, cells, decode
from greenops_tb.format.schema import INT_FIELDS, Record

#: what every reader (pandas' int64 and nanosecond timestamps included) can hold: larger numbers make a row malformed
INT_LIMIT = 2**63
TIME_LIMIT_S = 2**63 // 10**9


def complete_text(path: str | os.PathLike[str]) -> Decoded:
    """The file's text up to and including its last newline (bytes that are not UTF-8 skipped and counted)."""
    with open(path, "rb") as f:
        data = f.read()
    return decode(data[: data.rfind(b"\n") + 1])


def load_table(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]], Decoded]:
    """(header, data rows as lists of cells, the decoded text with what was skipped); ([], [], ...) when empty."""
    decoded = complete_text(path)
    rows = list(cells(io.StringIO(decoded.text, newline="")))
    return (rows[0], rows[1:], decoded) if rows else ([], [], decoded)


def read_table(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """:func:`load_table`'s header and rows, with ONE warning that counts the bytes skipped, if any."""
    header, rows, decoded = load_table(path)
    if decoded.skipped:
        warnings.warn(f"greenops_tb: {os.fspath(path)}: {decoded.note()}", RuntimeWarning, stacklevel=2)
    return header, rows


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Complete data rows as ``{column: cell}`` dicts."""
    header, rows = read_table(path)
    return [dict(zip(header, r)) for r in rows]


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """Complete rows as :class:`Record`; malformed rows are skipped with ONE warning that counts them and names
    the first (see :func:`read_records_counted`). ValueError when the header is not a green CSV's."""
    return table_records(path, *read_table(path))


def table_records(path: str | os.PathLike[str], header: list[str], rows: list[list[str]]) -> list[Record]:
    """:func:`read_records` for a table read already (``path`` names it in the warning)."""
    records, skipped, first = decode_rows(path, header, rows)
    if skipped:
        warnings.warn(f"greenops_tb: {os.fspath(path)}: {skipped} malformed records skipped (first: {first})",
                      RuntimeWarning, stacklevel=3)
    return records


def read_records_counted(path: str | os.PathLike[str]) -> tuple[list[Record], int, str]:
    """(records of the complete rows, how many malformed rows were skipped, what was wrong with the first)."""
    return decode_rows(path, *read_table(path))


def decode_rows(path: str | os.PathLike[str], header: list[str], rows: list[list[str]]
                ) -> tuple[list[Record], int, str]:
    """:func:`read_records_counted` for a table read already."""
    missing = REQUIRED_COLUMNS - set(header)
    if header and missing:
        raise ValueError(f"{os.fspath(path)}: not a green CSV: the header lacks {sorted(missing)}")
    out: list[Record] = []
    skipped, first = 0, ""
    for i, row in enumerate(rows):
        try:
            if len(row) != len(header):
                raise ValueError(f"{len(row)} cells, the header has {len(header)}")
            out.append(in_range(row_to_record(dict(zip(header, row)))))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            skipped += 1
            first = first or f"data row {i + 1} (line {i + 2}): {err}"
    return out, skipped, first


def in_range(rec: Record) -> Record:
    """``rec`` if its integers fit int64 and its times a timestamp, else ValueError (a malformed record)."""
    for name in INT_FIELDS:
        if not -INT_LIMIT <= getattr(rec, name) < INT_LIMIT:
            raise ValueError(f"{name} {getattr(rec, name)} is outside the 64-bit integer range")
    for name in ("start_time", "end_time"):
        if not abs(getattr(rec, name)) < TIME_LIMIT_S:  # nan too
            raise ValueError(f"{name} {getattr(rec, name)} is not a time in years 1678-2261")
    return rec


def column_problems(header: list[str]) -> tuple[list[str], list[str]]:
    """(unknown columns, missing base columns) of a CSV header, compared with what the writer writes."""
    known = set(BASE_COLUMNS) | {CHAIN_COLUMN}
    unknown = [c for c in header if c not in known and not c.startswith(WATCH_PREFIX)]
    missing = [c for c in BASE_COLUMNS if c not in header]
    return unknown, missing
