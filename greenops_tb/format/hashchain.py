"""Optional hash chain over CSV rows (``hash_chain=True``): tamper evidence for reports.

Each row's ``chain_hash`` = SHA-256 (hex) of ``previous hash`` + 0x1E + the
row's other cells, exactly as written, joined by 0x1F. The first row of a file
is anchored on ``anchor(run)`` = SHA-256 of ``"greenops_tb-chain-v1:" + run``
where ``run`` is that row's ``run`` cell. Appending to an existing file
continues its chain. Every record's hash also goes to the event file, so a
rewritten CSV no longer matches its events (the chain alone only shows that
rows were edited, reordered or dropped after the fact, not who wrote them).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

from greenops_tb.format.columns import CHAIN_COLUMN

_PREFIX = "greenops_tb-chain-v1:"


def anchor(run: str) -> str:
    return hashlib.sha256((_PREFIX + run).encode("utf-8")).hexdigest()


def link(prev: str, cells: Sequence[str]) -> str:
    """The hash of a row whose cells (chain column excluded) are ``cells``."""
    h = hashlib.sha256(prev.encode("ascii"))
    h.update(b"\x1e")
    h.update("\x1f".join(cells).encode("utf-8"))
    return h.hexdigest()


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
