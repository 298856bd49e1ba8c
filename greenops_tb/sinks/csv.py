"""Crash-safe CSV sink: one RFC 4180 row per record, appended by batches of whole rows.

* The header is written once, with the first row, so watched names registered
  before the first record become ``watch:<name>`` columns; names first seen
  later go to the ``watched_extra`` JSON column (see :mod:`greenops_tb.format.columns`).
* Re-opening an existing file appends under its header (its columns win) and
  continues its ``seq`` and hash chain (:attr:`CsvSink.chain`, which seals each record
  before any sink sees it: this sink writes the record's ``chain_hash``); a torn last line (no newline, left by a
  crash) is cut off first.
* Rows are encoded in full as they come and written at ``flush()`` (after each
  batch of records, see :mod:`greenops_tb.recording.batch`) with one ``os.writev`` per
  :data:`~greenops_tb.sinks.appends.PIECES` pieces of :data:`ROWS_JOINED` whole rows each (no copy of the
  whole batch) on an ``O_APPEND`` descriptor, so a ``kill -9`` leaves every written row intact
  and at most one incomplete last line (no row: readers skip it, re-opening cuts
  it). Rows never hold raw line breaks (replaced by spaces), so one line is one row.
* A row is its record's shape's template (:class:`~greenops_tb.format.forms.RowForm`, compiled once per
  shape and header: text cells quoted there by the csv module, JSON cells by RFC 4180's rule, which
  tests/test_format_roundtrip.py checks against the module) filled with the record's number texts.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
from typing import Sequence

from greenops_tb.errors import UsageError
from greenops_tb.format.columns import BASE_COLUMNS, CHAIN_COLUMN, REQUIRED_COLUMNS, RESUME_COLUMNS, csv_columns
from greenops_tb.format.forms import HeaderRows
from greenops_tb.format.hashchain import Chain
from greenops_tb.format.schema import Record
from greenops_tb.format.text import RecordText
from greenops_tb.sinks.appends import append_all
from greenops_tb.sinks.lines import complete_end, first_line, lines_backward, parse_row


#: how every green CSV header starts (the required columns lead, in schema order)
_GREEN_START = b"run,stage,seq,step"


def _parse_header(line: bytes) -> list[str]:
    """The cells of a header line; [] when it is not UTF-8 text or not a CSV row."""
    try:
        return parse_row(line)
    except ValueError:
        return []


def choose_columns(selected: Sequence[str] | None) -> list[str]:
    """Base columns to write: all, or the user's subset, in schema order; the required columns and those a
    re-opened run continues from (:data:`~greenops_tb.format.columns.RESUME_COLUMNS`) are always kept."""
    if selected is None:
        return list(BASE_COLUMNS)
    unknown = [c for c in selected if c not in BASE_COLUMNS]
    if unknown:
        raise UsageError(f"csv_columns: unknown column(s) {unknown}; choose from {list(BASE_COLUMNS)}")
    keep = set(selected) | RESUME_COLUMNS
    return [c for c in BASE_COLUMNS if c in keep]


#: rows encoded together into one piece of a flush's write (about 64 KiB)
ROWS_JOINED = 64


class CsvSink:
    """Appends records to ``path``; see the module docstring for the guarantees. A
    :class:`~greenops_tb.sinks.base.RecordSink`, dropped after a failure (its last row may be torn)."""

    name = "csv"
    retry_after_failure = False

    def __init__(self, path: str | os.PathLike[str], *, base_columns: list[str], chain: bool) -> None:
        self.path = os.fspath(path)
        self._base = base_columns
        #: the file's hash chain (None without one); continues an existing file's
        self.chain: Chain | None = Chain(base_columns) if chain else None
        self.created = not os.path.exists(self.path)  # so a failed writer can take back the file it made
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as err:
            raise OSError(
                f"cannot write the green CSV at {self.path!r} ({err.strerror or err}); "
                "pass csv_path= a writable file, or csv_path=False to turn the CSV off"
            ) from err
        self._rows: list[str] = []  # encoded lines not yet written
        self.header: list[str] | None = None
        self.next_seq = 0
        self.data_start = 0  # where the rows of an adopted file start (after its header)
        self._adopt_existing()

    def _adopt_existing(self) -> None:
        """Continue an existing green CSV; refuse any other file before a byte of it changes."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        line = first_line(self._fd, size)  # whatever its width
        if line is None:
            head = os.pread(self._fd, len(_GREEN_START) + 1, 0)
            if _GREEN_START.startswith(head) or head.startswith(_GREEN_START + b","):
                os.ftruncate(self._fd, 0)  # only a header, torn by a crash before its first row: start afresh
                return
        header = _parse_header(line or b"")
        if not REQUIRED_COLUMNS <= set(header):
            os.close(self._fd)
            self._fd = -1
            missing = sorted(REQUIRED_COLUMNS - set(header))
            raise UsageError(
                f"{self.path!r} exists and is not a green CSV (its first line is not a header with {missing}); "
                "it was left unchanged: pass another csv_path= (or csv_path=False)"
            )
        if self.chain is not None and CHAIN_COLUMN not in header:
            os.close(self._fd)
            self._fd = -1
            raise UsageError(
                f"{self.path!r} was written without a hash chain, so hash_chain=True cannot continue it; "
                "pass a new csv_path= or hash_chain=False"
            )
        size = complete_end(self._fd, size)
        os.ftruncate(self._fd, size)  # cut an incomplete last line (a crash's)
        self._set_header(header)
        self.data_start = len(line or b"") + 1
        row: dict[str, str] = {}
        for _, text in lines_backward(self._fd, size, self.data_start):  # the last row whose seq can be read
            with contextlib.suppress(ValueError, KeyError):
                candidate = dict(zip(header, parse_row(text, errors="replace")))
                self.next_seq = int(candidate["seq"]) + 1
                row = candidate
                break
        if CHAIN_COLUMN in header:
            self.chain = self.chain or Chain(self._base)
            self.chain.adopt(header, row.get(CHAIN_COLUMN, ""))

    def _start(self, text: RecordText) -> None:
        header = csv_columns(list(text.form.watched), chain=self.chain is not None, base=self._base)
        self._write_cells(header)
        self._set_header(header)

    def _set_header(self, header: list[str]) -> None:
        self.header = header
        self._rows_of = HeaderRows(header)

    def _write_cells(self, cells: list[str]) -> None:
        line = io.StringIO()
        csv.writer(line, lineterminator="\r\n").writerow(cells)
        self._rows.append(line.getvalue())

    def write(self, item: Record | RecordText, closing: bool = False) -> None:
        """Append a record (or its :class:`RecordText`; every record, ``closing`` or not), with the
        ``chain_hash`` it carries when the file has a chain."""
        text = item if isinstance(item, RecordText) else RecordText(item)
        if self.header is None:
            self._start(text)
        row, texts = self._rows_of[text.form], text.csv_texts  # the texts first: they set text.exact
        self._rows.append(row.csv[text.exact].fill(texts))

    def flush(self) -> None:
        """Write the rows given so far, in pieces of :data:`ROWS_JOINED` rows (the rest of a short write follows)."""
        rows = self._rows
        if rows:
            self._rows = []
            append_all(self._fd, ["".join(rows[i:i + ROWS_JOINED]).encode("utf-8")
                                  for i in range(0, len(rows), ROWS_JOINED)])

    def close(self) -> None:
        if self._fd >= 0:
            try:
                self.flush()
            finally:
                os.close(self._fd)
            self._fd = -1

    def discard(self) -> None:
        """Close; remove the file if this sink created it and nothing was written (a failed writer's)."""
        self.close()
        if self.created and self.header is None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
