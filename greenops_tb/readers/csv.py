"""Records back from a green CSV, crash-tolerant (the file I/O; rows are decoded by
:func:`greenops_tb.format.columns.decode_rows`).

A run killed mid-write leaves at most one incomplete last line (no trailing
newline); it is ignored here, every complete row is returned. Rows never hold
raw line breaks (the CSV sink writes one row per line), so a line is a row.
Cells of any length read back; bytes that are not UTF-8 are skipped and counted (one warning), and a row
whose numbers no reader can hold (:func:`greenops_tb.format.schema.in_range`) is malformed: skipped and counted like a short row.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

from greenops_tb.format.columns import column_problems as column_problems  # the layout's; importable from here
from greenops_tb.format.columns import decode_rows
from greenops_tb.format.csvtext import Decoded, cells, decode
from greenops_tb.format.schema import Record
from greenops_tb.readers.shards import RankTotals, merge_shards

#: a rank's CSV shard in a distributed job's run directory (see greenops_tb.distributed.shard.csv_name)
SHARD_CSV = re.compile(r"green\.rank(\d+)\.csv\Z")


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
    records, skipped, first = decode_table(path, header, rows)
    if skipped:
        warnings.warn(f"greenops_tb: {os.fspath(path)}: {skipped} malformed records skipped (first: {first})",
                      RuntimeWarning, stacklevel=3)
    return records


def read_records_counted(path: str | os.PathLike[str]) -> tuple[list[Record], int, str]:
    """(records of the complete rows, how many malformed rows were skipped, what was wrong with the first)."""
    return decode_table(path, *read_table(path))


def decode_table(path: str | os.PathLike[str], header: list[str], rows: list[list[str]]
                 ) -> tuple[list[Record], int, str]:
    """:func:`~greenops_tb.format.columns.decode_rows` of a table read from ``path`` (named in the error when its
    header is not a green CSV's)."""
    try:
        return decode_rows(header, rows)
    except ValueError as err:
        raise ValueError(f"{os.fspath(path)}: {err}") from None


def shard_csvs(directory: str | os.PathLike[str]) -> dict[int, Path]:
    """Rank -> its CSV shard (``green.rank<k>.csv``) in a distributed job's run directory ({} when none)."""
    out = {}
    for p in Path(directory).iterdir():
        m = SHARD_CSV.match(p.name)
        if m and p.is_file():
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


def read_job_records(directory: str | os.PathLike[str]) -> tuple[list[Record], tuple[RankTotals, ...]]:
    """A distributed job's CSV shards merged into the job's records (see :mod:`greenops_tb.readers.shards`);
    ValueError when the directory holds none."""
    shards = shard_csvs(directory)
    if not shards:
        raise ValueError(f"{os.fspath(directory)}: no rank CSV shards (green.rank<k>.csv) here")
    records, _meta, ranks = merge_shards({rank: read_records(p) for rank, p in shards.items()})
    return records, ranks
