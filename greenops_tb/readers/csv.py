"""Records back from a green CSV, crash-tolerant.

A run killed mid-write leaves at most one incomplete last line (no trailing
newline); it is ignored here, every complete row is returned. Rows never hold
raw line breaks (the CSV sink writes one row per line), so a line is a row.
"""
from __future__ import annotations

import csv
import io
import os
import re
import warnings
from pathlib import Path

from greenops_tb.format.columns import BASE_COLUMNS, CHAIN_COLUMN, REQUIRED_COLUMNS, WATCH_PREFIX, row_to_record
from greenops_tb.format.schema import Record
from greenops_tb.readers.shards import RankTotals, merge_shards

#: a rank's CSV shard in a distributed job's run directory (see greenops_tb.distributed.shard.csv_name)
SHARD_CSV = re.compile(r"green\.rank(\d+)\.csv\Z")


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
    missing = REQUIRED_COLUMNS - set(header)
    if header and missing:
        raise ValueError(f"{os.fspath(path)}: not a green CSV: the header lacks {sorted(missing)}")
    out: list[Record] = []
    skipped, first = 0, ""
    for i, cells in enumerate(rows):
        try:
            if len(cells) != len(header):
                raise ValueError(f"{len(cells)} cells, the header has {len(header)}")
            out.append(row_to_record(dict(zip(header, cells))))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            skipped += 1
            first = first or f"data row {i + 1} (line {i + 2}): {err}"
    return out, skipped, first


def column_problems(header: list[str]) -> tuple[list[str], list[str]]:
    """(unknown columns, missing base columns) of a CSV header, compared with what the writer writes."""
    known = set(BASE_COLUMNS) | {CHAIN_COLUMN}
    unknown = [c for c in header if c not in known and not c.startswith(WATCH_PREFIX)]
    missing = [c for c in BASE_COLUMNS if c not in header]
    return unknown, missing


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
