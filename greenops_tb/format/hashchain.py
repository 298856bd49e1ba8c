"""Optional hash chain over CSV rows (``hash_chain=True``): tamper evidence for reports.

Each row's ``chain_hash`` = SHA-256 (hex) of ``previous hash`` + 0x1E + the
row's other cells, exactly as written, joined by 0x1F. The first row of a file
is anchored on ``anchor(run)`` = SHA-256 of ``"greenops_tb-chain-v1:" + run``
where ``run`` is that row's ``run`` cell. Appending to an existing file
continues its chain. Every record's hash also goes to the event file, so a
rewritten CSV no longer matches its events (the chain alone only shows that
rows were edited, reordered or dropped after the fact, not who wrote them).

The hash is computed once per record, by :class:`Chain`, before any sink sees the
record (see :mod:`greenops_tb.recording.stages`): the CSV row, the event and the
record ``update()`` returns all carry the same ``chain_hash``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

from greenops_tb.format.columns import CHAIN_COLUMN, csv_columns
from greenops_tb.format.forms import HeaderRows
from greenops_tb.format.text import RecordText

_PREFIX = "greenops_tb-chain-v1:"


def anchor(run: str) -> str:
    return hashlib.sha256((_PREFIX + run).encode("utf-8")).hexdigest()


def link(prev: str, cells: Sequence[str]) -> str:
    """The hash of a row whose cells (chain column excluded) are ``cells``."""
    return link_text(prev, "\x1f".join(cells))


def link_text(prev: str, joined: str) -> str:
    """The hash of a row whose cells (chain column excluded), joined by 0x1F, are ``joined``."""
    h = hashlib.sha256(prev.encode("ascii"))
    h.update(b"\x1e")
    h.update(joined.encode("utf-8"))
    return h.hexdigest()


class Chain:
    """The running chain of one CSV: :meth:`seal` gives each record its row's hash, in ``seq`` order.

    The row's columns are the CSV's header without the chain column: adopted from an existing file
    (:meth:`adopt`), else ``base_columns`` plus the first record's watched names, as the CSV sink
    writes its header. Not thread-safe: the stages call it under their lock.
    """

    __slots__ = ("base", "prev", "_rows")

    def __init__(self, base_columns: Sequence[str]) -> None:
        self.base = tuple(base_columns)
        self.prev = ""  # the previous row's hash; "" before a file's first row
        self._rows: HeaderRows | None = None  # each shape's row for the columns, once known

    def adopt(self, header: Sequence[str], last_hash: str) -> None:
        """Continue an existing CSV whose header is ``header`` and whose last row's hash is ``last_hash``."""
        self._set_columns([c for c in header if c != CHAIN_COLUMN])
        self.prev = last_hash

    def _set_columns(self, columns: Sequence[str]) -> HeaderRows:
        self._rows = HeaderRows(columns)
        return self._rows

    def seal(self, text: RecordText) -> RecordText:
        """``text``'s record with ``chain_hash`` set to the hash of its CSV row (this chain advances by one row)."""
        rows = self._rows
        if rows is None:
            rows = self._set_columns(csv_columns(list(text.form.watched), base=self.base))
        row, columns = rows[text.form], rows.columns
        texts = text.csv_texts
        exact = text.exact
        joined = row.chain[exact].fill(texts)
        prev = self.prev
        if not prev:  # a file's first row: anchored on its run cell
            run_at = columns.index("run") if "run" in columns else -1
            prev = anchor(row.cells(texts, exact)[run_at] if run_at >= 0 else "")
        self.prev = link_text(prev, joined)
        return text.with_hash(self.prev)


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    rows: int  # rows checked
    bad_row: int | None  # 0-based data row index of the first mismatch
    message: str


def verify(header: Sequence[str], rows: Iterable[Sequence[str]]) -> ChainCheck:
    """Check the chain of a CSV given as its header and data rows (lists of cells)."""
    if CHAIN_COLUMN not in header:
        return ChainCheck(False, 0, None, f"no {CHAIN_COLUMN!r} column: the run was written without hash_chain=True")
    ci = list(header).index(CHAIN_COLUMN)
    ri = list(header).index("run") if "run" in header else None
    prev: str | None = None
    n = 0
    for row in rows:
        cells = list(row)
        if prev is None:
            prev = anchor(cells[ri] if ri is not None else "")
        want = link(prev, cells[:ci] + cells[ci + 1:])
        if cells[ci] != want:
            return ChainCheck(False, n, n, f"row {n + 1}: chain hash mismatch (edited, inserted or removed row)")
        prev = want
        n += 1
    return ChainCheck(True, n, None, f"{n} rows, chain intact")
