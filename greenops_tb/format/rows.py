"""Records as CSV cells: :class:`RowPlan` compiles the cell layout of one header once."""
from __future__ import annotations

import functools
import operator
from enum import IntEnum
from typing import Any, Callable, Sequence

from greenops_tb.format.columns import neutralise_text
from greenops_tb.format.fields import COLUMN_FIELD, WATCH_PREFIX, Cell, Kind
from greenops_tb.format.schema import Record
from greenops_tb.format.text import RecordText, getter, map_json, number_cells


class Cells(IntEnum):
    """The groups a row's cells are produced in, in this order."""

    NUMBERS = 0  # int and float fields, by name (one formatting call for all of them and MIX, WATCH)
    MIX = 1  # mix_kwh_<source>, by source
    WATCH = 2  # watch:<name>, by name
    TEXTS = 3  # text fields, by name (neutralised)
    DERIVED = 4  # whole-field cells: provenance, devices_json, watched_extra, JSON cells (embodied_json)


#: groups holding text, the only cells a CSV writer may have to quote
_TEXT_GROUPS = (Cells.TEXTS, Cells.DERIVED)


def _group_of(column: str) -> tuple[Cells, str | tuple[Cell, str]]:
    """Which group a column's cell is made in, and its key there (KeyError for a column no field owns)."""
    if column.startswith(WATCH_PREFIX):
        return Cells.WATCH, column[len(WATCH_PREFIX):]
    f = COLUMN_FIELD[column]
    if f.cell is Cell.SPREAD:
        return Cells.MIX, column[len(f.name) + 1:]
    if not f.one_value:  # whole-field cells, by how the field is laid out and which of its columns
        return Cells.DERIVED, (f.cell, f.name if f.cell is Cell.JSON else column)
    return (Cells.TEXTS if f.kind is Kind.TEXT else Cells.NUMBERS), column


class RowPlan:
    """:func:`record_to_row` compiled for one header: every per-column decision is made once. Its cells are
    those of one CSV line: no raw line breaks (replaced by spaces in text cells).

    Every number cell (int and float fields, the mix and watch columns) comes from one
    :func:`~greenops_tb.format.text.number_cells` call; text cells, the same few in every record, are
    remembered; cells are put in header order by one ``itemgetter``. ``text_at`` lists the positions
    of text cells: the only ones a CSV writer may have to quote.
    """

    __slots__ = ("_numbers", "_texts", "_mix", "_watch", "_header_watch", "_derived", "_order", "text_at")

    def __init__(self, columns: Sequence[str]) -> None:
        groups: list[list[Any]] = [[] for _ in Cells]
        where: list[tuple[Cells, int]] = []  # (group, index in group) per column
        for c in columns:
            g, key = _group_of(c)
            where.append((g, len(groups[g])))
            groups[g].append(key)
        self._numbers, self._texts = getter(groups[Cells.NUMBERS]), getter(groups[Cells.TEXTS])
        self._mix: tuple[str, ...] = tuple(groups[Cells.MIX])
        self._watch: tuple[str, ...] = tuple(groups[Cells.WATCH])
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
        values = self._numbers(rec)
        if self._mix:
            values += tuple(map(rec.mix_kwh.get, self._mix))
        if self._watch:
            values += tuple(map(rec.watched.get, self._watch))
        cells = number_cells(values)
        cells += _text_cells(self._texts(rec))
        for cell, key in self._derived:
            if cell is Cell.JSON:  # a name -> float field, key: its name ('' while empty)
                cells.append(map_json(d) if (d := getattr(rec, key)) else "")
            elif key == "provenance":
                cells += _text_cells((rec.provenance,))
            elif key == "devices_json":
                cells.append(text.devices_json)
            elif rec.watched.keys() <= self._header_watch:  # watched_extra, nothing extra
                cells.append("")
            else:
                cells.append(map_json({k: v for k, v in rec.watched.items() if k not in self._header_watch}))
        return list(self._order(cells))



@functools.lru_cache(maxsize=256)
def _text_cells(texts: tuple[str, ...]) -> tuple[str, ...]:
    """The cells of text values (the same few in every record of a run: remembered), neutralised and one line
    each: raw line breaks become spaces (one line is one row). The other cells never hold one: numbers, and
    JSON (which escapes them)."""
    return tuple(neutralise_text(t).replace("\r", " ").replace("\n", " ") for t in texts)


@functools.lru_cache(maxsize=64)
def row_plan(columns: tuple[str, ...]) -> RowPlan:
    """The cached :class:`RowPlan` for a header (a tuple, so it can be a cache key)."""
    return RowPlan(columns)


def record_to_row(rec: Record, columns: Sequence[str]) -> list[str]:
    """Cells for ``columns`` (a header from :func:`greenops_tb.format.columns.csv_columns`, possibly a subset)."""
    return row_plan(tuple(columns))(rec)
