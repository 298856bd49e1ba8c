"""``greenops-tb export LOGDIR``: records read back from the event files, in the live CSV's schema.

Records come through TensorBoard's own loading code and the plugin's reader
(:mod:`greenops_tb.readers.runs`), one run at a time so memory stays bounded.

* ``csv``: exactly the live CSV layout (:func:`greenops_tb.format.columns.csv_columns` and
  :func:`~greenops_tb.format.rows.record_to_row`). Watched names of the first exported
  record become ``watch:`` columns, as in the live CSV whose header is written with
  its first row; names that appear later go to ``watched_extra`` (nothing is lost).
* ``jsonl`` / ``json``: one :meth:`Record.to_json` object per record (nested devices,
  mix and watched values).
* ``parquet``: the CSV's columns with typed values (numbers as numbers), for pandas
  and friends; needs pyarrow (``pip install 'greenops_tb[parquet]'``) and ``-o FILE``.

The format comes from ``--format`` or the output's extension (.csv, .jsonl, .json,
.parquet; no extension: csv); any other extension is refused rather than guessed.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Iterator, TextIO

from greenops_tb.format.columns import NEUTRALISED, csv_columns
from greenops_tb.format.fields import Kind, of_kind
from greenops_tb.format.csvtext import cells
from greenops_tb.format.rows import record_to_row
from greenops_tb.format.schema import Record
from greenops_tb.readers.runs import LOADERS, InputError, Logdir, Progress, open_logdir, report_malformed

FORMATS = ("csv", "jsonl", "json", "parquet")
TEXT_COLUMNS = of_kind(Kind.TEXT)  # text even when every value looks like a number (or every cell is empty)
# the quote neutralise_text puts before text a spreadsheet would run as a formula
FORMULA_GUARD = NEUTRALISED


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write every green record of a logdir as CSV / JSON Lines / JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("logdir", help="TensorBoard logdir written by GreenSummaryWriter")
    p.add_argument("-o", "--output", help="output file (default: stdout); written atomically")
    p.add_argument("--format", choices=FORMATS, help="default: from the output's extension, else csv")
    p.add_argument("--runs", metavar="PATTERN", help="only runs whose name matches this shell pattern, e.g. 'lr-*'")
    p.add_argument("--stages", nargs="+", metavar="STAGE", help="only these stages")
    p.add_argument("--loader", choices=LOADERS, default="auto", help="TensorBoard loader (default: auto)")
    p.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    """The output format; InputError for an extension we would have to guess at or that contradicts --format."""
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    if args.format and suffix in FORMATS and suffix != args.format:
        raise InputError(f"--format {args.format} would write {args.format} into {args.output}; "
                         f"name the file .{args.format} or pass --format {suffix}")
    fmt = args.format or (suffix if suffix in FORMATS else "csv" if not suffix else None)
    if fmt is None:
        raise InputError(f"cannot tell the format of {args.output} from its extension .{suffix}: "
                         f"use .csv, .jsonl, .json or .parquet, or pass --format {{{','.join(FORMATS)}}}")
    if fmt == "parquet" and args.output is None:
        raise InputError("Parquet is a binary file format: pass -o FILE.parquet")
    return fmt


def iter_records(logdir: Logdir, runs: list[str], stages: list[str] | None, progress: Progress) -> Iterator[Record]:
    """Records of ``runs`` (in run order, then emission order), filtered by stage."""
    keep = set(stages) if stages else None
    for data in logdir.read_all(runs):
        report_malformed(data)
        records = data.records
        progress.update(1, f"{data.run} ({len(records)} records)")
        for rec in records:
            if keep is None or rec.stage in keep:
                yield rec


def write_csv(records: Iterator[Record], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    columns: list[str] | None = None
    n = 0
    for rec in records:
        if columns is None:
            columns = csv_columns(list(rec.watched), chain=bool(rec.chain_hash))
            writer.writerow(columns)
        writer.writerow(record_to_row(rec, columns))
        n += 1
    return n


def write_json(records: Iterator[Record], out: TextIO, *, lines: bool) -> int:
    n = 0
    if not lines:
        out.write("[")
    for rec in records:
        if not lines and n:
            out.write(",")
        out.write(json.dumps(rec.to_json(), separators=(",", ":"), allow_nan=True))
        if lines:
            out.write("\n")
        n += 1
    if not lines:
        out.write("]\n")
    return n


def write_parquet(csv_path: Path, target: Path) -> None:
    """Convert the exported CSV at ``csv_path`` to Parquet at ``target`` (pyarrow infers the numeric types)."""
    try:
        import pyarrow as pa
        from pyarrow import compute as pc
        from pyarrow import csv as pa_csv
        from pyarrow import parquet as pq
    except ImportError:
        raise InputError("Parquet export needs pyarrow: pip install 'greenops_tb[parquet]' (or pyarrow)") from None
    with open(csv_path, encoding="utf-8") as f:
        header = next(cells(f), [])
    with open(csv_path, "rb") as raw:  # pyarrow reads in blocks that must each hold a whole row
        block = max(1 << 20, max(map(len, raw), default=0) + 1)
    types = {c: pa.string() for c in TEXT_COLUMNS if c in header}
    table = pa_csv.read_csv(csv_path, read_options=pa_csv.ReadOptions(block_size=block),
                            convert_options=pa_csv.ConvertOptions(column_types=types))
    for i, field in enumerate(table.schema):  # text cells as written, without the CSV's spreadsheet-formula guard
        if pa.types.is_string(field.type):
            col = table.column(i)
            guarded = pc.match_substring_regex(col, FORMULA_GUARD)
            table = table.set_column(i, field, pc.if_else(guarded, pc.utf8_slice_codeunits(col, 1), col))
    pq.write_table(table, target)


def export(logdir: Logdir, out: TextIO, fmt: str, runs: list[str], stages: list[str] | None) -> int:
    """Write the records of ``runs``; returns how many were written."""
    progress = Progress(len(runs), "export runs")
    records = iter_records(logdir, runs, stages, progress)
    n = write_csv(records, out) if fmt == "csv" else write_json(records, out, lines=fmt == "jsonl")
    progress.close(f"{n} records")
    return n


def run(args: argparse.Namespace) -> int:
    try:
        fmt = _format(args)
        with open_logdir(args.logdir, args.loader) as logdir:
            runs = logdir.select(args.runs)
            if args.output is None:
                n = export(logdir, sys.stdout, fmt, runs, args.stages)
            else:
                target = Path(args.output)
                tmp = target.with_name(f".{target.name}.partial")
                text = tmp.with_name(tmp.name + ".csv") if fmt == "parquet" else tmp  # Parquet: via the CSV
                try:
                    with open(text, "w", newline="", encoding="utf-8") as out:
                        n = export(logdir, out, "csv" if fmt == "parquet" else fmt, runs, args.stages)
                    if fmt == "parquet" and n:
                        write_parquet(text, tmp)
                    if fmt != "parquet" or n:  # no records: no Parquet file (it would have no columns)
                        os.replace(tmp, target)
                except OSError as err:
                    raise InputError(f"cannot write {target}: {err.strerror or err}") from err
                finally:
                    tmp.unlink(missing_ok=True)
                    text.unlink(missing_ok=True)
    except InputError as err:
        print(f"greenops-tb export: {err}", file=sys.stderr)
        return 2
    if n == 0:
        print(f"greenops-tb export: no records matched (stages {args.stages})", file=sys.stderr)
        return 1
    if args.output is not None:
        print(f"wrote {n} records from {len(runs)} run(s) to {args.output}", file=sys.stderr)
    return 0
