"""Records as CSV cells: :class:`RowPlan` compiles the cell layout of one header once."""
from __future__ import annotations

import functools
import operator
from enum import IntEnum
from itertools import repeat
from typing import Any, Callable, Sequence

from greenops_tb.format.columns import DERIVED_COLUMNS, MIX_PREFIX, WATCH_PREFIX, neutralise_text
from greenops_tb.format.schema import COMPACT_JSON, INT_FIELDS, OPTIONAL_FLOAT_FIELDS, STR_FIELDS, Record
from greenops_tb.format.text import FLOAT_FIELDS, OPTIONAL_FIELDS, RecordText, getter


class Cells(IntEnum):
    """The groups a row's cells are produced in, in this order."""

    FLOATS = 0  # RecordText.numbers().floats, by index
    OPTIONAL = 1  # the cost fields' number texts, by index
    INTS = 2  # int fields, by name
    TEXTS = 3  # text fields, by name (neutralised)
    MIX = 4  # mix_kwh_<source>, by source
    WATCH = 5  # watch:<name>, by name
    DERIVED = 6  # provenance, devices_json, watched_extra, embodied_json


#: groups holding text, the only cells a CSV writer may have to quote
_TEXT_GROUPS = (Cells.TEXTS, Cells.DERIVED)


def _group_of(column: str) -> tuple[Cells, str | int]:
    """Which group a column's cell is made in, and its key there."""
    if column.startswith(WATCH_PREFIX):
        return Cells.WATCH, column[len(WATCH_PREFIX):]
    if column.startswith(MIX_PREFIX):
        return Cells.MIX, column[len(MIX_PREFIX):]
    if column in DERIVED_COLUMNS:
        return Cells.DERIVED, column
    if column in STR_FIELDS:
        return Cells.TEXTS, column
    if column in INT_FIELDS:
        return Cells.INTS, column
    if column in OPTIONAL_FLOAT_FIELDS:
        return Cells.OPTIONAL, OPTIONAL_FIELDS.index(column)
    return Cells.FLOATS, FLOAT_FIELDS.index(column)


class RowPlan:
    """:func:`record_to_row` compiled for one header: every per-column decision is made once.

    Cells are produced group by group (:class:`Cells`) with C-level ``map`` calls from the
    record's :class:`RecordText`, then put in header order by one ``itemgetter``. ``text_at``
    lists the positions of text cells: the only ones a CSV writer may have to quote (numbers,
    ``nan``/``inf`` and empty cells never need it).
    """

    __slots__ = ("_floats", "_optional", "_ints", "_texts", "_mix", "_watch", "_header_watch", "_derived",
                 "_order", "text_at")

    def __init__(self, columns: Sequence[str]) -> None:
        groups: list[list[Any]] = [[] for _ in Cells]
        where: list[tuple[Cells, int]] = []  # (group, index in group) per column
        for c in columns:
            g, key = _group_of(c)
            where.append((g, len(groups[g])))
            groups[g].append(key)
        self._floats = getter(groups[Cells.FLOATS], operator.itemgetter)
        self._optional = getter(groups[Cells.OPTIONAL], operator.itemgetter)
        self._ints, self._texts = getter(groups[Cells.INTS]), getter(groups[Cells.TEXTS])
        self._mix: list[str] = groups[Cells.MIX]
        self._watch: list[str] = groups[Cells.WATCH]
        self._derived: list[str] = groups[Cells.DERIVED]
        self._header_watch = frozenset(self._watch)
        self.text_at: tuple[int, ...] = tuple(pos for pos, (g, _) in enumerate(where) if g in _TEXT_GROUPS)
        starts = [0]
        for grp in groups:
            starts.append(starts[-1] + len(grp))
        order = [starts[g] + i for g, i in where]
        if len(order) == 1:
            only = order[0]
            self._order: Callable[[list[str]], Any] = lambda cells: (cells[only],)
        elif order:
            self._order = operator.itemgetter(*order)
        else:
            self._order = lambda cells: ()

    def __call__(self, rec: Record, text: RecordText | None = None) -> list[str]:
        """Cells of ``rec``; ``text`` (its :class:`RecordText`) when the caller has it already."""
        if text is None:
            text = RecordText(rec)
        n = text.numbers()
        cells = list(self._floats(n.floats))
        cells += self._optional(n.optional)
        cells += map(str, self._ints(rec))
        cells += map(neutralise_text, self._texts(rec))
        if self._mix:
            cells += map(dict(zip(rec.mix_kwh, n.mix)).get, self._mix, repeat(""))
        if self._watch:
            cells += map(dict(zip(rec.watched, n.watched)).get, self._watch, repeat(""))
        for c in self._derived:
            if c == "provenance":
                cells.append(neutralise_text(rec.provenance))
            elif c == "devices_json":
                cells.append(text.devices_json)
            elif c == "embodied_json":
                cells.append(text.embodied_json if rec.embodied_kg_by_device else "")
            elif rec.watched.keys() <= self._header_watch:  # watched_extra, nothing extra
                cells.append("")
            else:
                extra = {k: v for k, v in rec.watched.items() if k not in self._header_watch}
                cells.append(COMPACT_JSON.encode(extra))
        return list(self._order(cells))


def line_cells(cells: list[str]) -> list[str]:
    """``cells`` as one CSV line holds them: raw line breaks become spaces (one line is one row)."""
    joined = "\x1f".join(cells)
    if "\n" in joined or "\r" in joined:
        return [c.replace("\r", " ").replace("\n", " ") for c in cells]
    return cells


@functools.lru_cache(maxsize=64)
def row_plan(columns: tuple[str, ...]) -> RowPlan:
    """The cached :class:`RowPlan` for a header (a tuple, so it can be a cache key)."""
    return RowPlan(columns)


def record_to_row(rec: Record, columns: Sequence[str]) -> list[str]:
    """Cells for ``columns`` (a header from :func:`greenops_tb.format.columns.csv_columns`, possibly a subset)."""
    return row_plan(tuple(columns))(rec)
