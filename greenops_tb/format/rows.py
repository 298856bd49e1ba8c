"""Records as CSV cells: :class:`RowPlan` compiles the cell layout of one header once."""
from __future__ import annotations

import functools
import operator
from enum import IntEnum
from itertools import repeat
from typing import Any, Callable, Sequence

from greenops_tb.format.columns import neutralise_text
from greenops_tb.format.fields import COLUMN_FIELD, WATCH_PREFIX, Cell, Kind
from greenops_tb.format.schema import COMPACT_JSON, Record
from greenops_tb.format.text import FLOAT_FIELDS, OPTIONAL_FIELDS, RecordText, getter


class Cells(IntEnum):
    """The groups a row's cells are produced in, in this order."""

    FLOATS = 0  # RecordText.numbers().floats, by index
    OPTIONAL = 1  # the cost fields' number texts, by index
    INTS = 2  # int fields, by name
    TEXTS = 3  # text fields, by name (neutralised)
    MIX = 4  # mix_kwh_<source>, by source
    WATCH = 5  # watch:<name>, by name
    DERIVED = 6  # whole-field cells: provenance, devices_json, watched_extra, JSON cells (embodied_json)


#: groups holding text, the only cells a CSV writer may have to quote
_TEXT_GROUPS = (Cells.TEXTS, Cells.DERIVED)
_ONE_VALUE = {Kind.TEXT: Cells.TEXTS, Kind.INT: Cells.INTS, Kind.MAYBE_FLOAT: Cells.OPTIONAL, Kind.FLOAT: Cells.FLOATS}


def _group_of(column: str) -> tuple[Cells, str | int | tuple[Cell, str]]:
    """Which group a column's cell is made in, and its key there (KeyError for a column no field owns)."""
    if column.startswith(WATCH_PREFIX):
        return Cells.WATCH, column[len(WATCH_PREFIX):]
    f = COLUMN_FIELD[column]
    if f.cell is Cell.SPREAD:
        return Cells.MIX, column[len(f.name) + 1:]
    if not f.one_value:  # whole-field cells, by how the field is laid out and which of its columns
        return Cells.DERIVED, (f.cell, f.name if f.cell is Cell.JSON else column)
    group = _ONE_VALUE[f.kind]
    if group is Cells.FLOATS:
        return group, FLOAT_FIELDS.index(column)
    return group, OPTIONAL_FIELDS.index(column) if group is Cells.OPTIONAL else column


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
        self._derived: list[tuple[Cell, str]] = groups[Cells.DERIVED]
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
        elif text.row is not None and text.row[0] is self:  # made already (by the hash chain)
            return list(text.row[1])
        n = text.numbers()
        cells = list(self._floats(n.floats))
        cells += self._optional(n.optional)
        cells += map(str, self._ints(rec))
        cells += map(neutralise_text, self._texts(rec))
        if self._mix:
            cells += map(dict(zip(rec.mix_kwh, n.mix)).get, self._mix, repeat(""))
        if self._watch:
            cells += map(dict(zip(rec.watched, n.watched)).get, self._watch, repeat(""))
        for cell, key in self._derived:
            if cell is Cell.JSON:  # a name -> float field, key: its name ('' while empty)
                cells.append(text.map_json(key) if getattr(rec, key) else "")
            elif key == "provenance":
                cells.append(neutralise_text(rec.provenance))
            elif key == "devices_json":
                cells.append(text.devices_json)
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
