"""Compiled text forms of records of one shape: the record JSON and CSV rows as templates.

A run's records share a *shape*: the same text fields (run, stage, location, sources), the same keys in
their mappings (grid sources, watched names, devices and their provenance). A shape's :class:`Form` is
compiled once from the field table (:mod:`greenops_tb.format.fields`): every text is escaped, neutralised
and quoted there, once, and every number has a position. A record's text is then its numbers formatted
in one call (:func:`greenops_tb.format.text.number_texts`) put into the form's templates (:class:`Template`): the
record JSON (:attr:`Form.json`) and, per CSV header, the row and the hash chain's text (:class:`RowForm`).
A template is its literal pieces with a slot between each two, filled by one ``str.join``: no format string
is parsed per record (``%`` formatting scans every character of a template of kilobytes, each time).

Positions: the numbers of a record, in the order :func:`numbers_of` gives them (scalar fields in
``Record`` order, then each mapping's values, then each device's energy and context), and at
``Form.size`` the chain hash.
"""
from __future__ import annotations

import csv
import functools
import io
import operator
from typing import Any, Callable, Iterable, Sequence

from greenops_tb.format.columns import neutralise_text
from greenops_tb.format.fields import BY_NAME, COLUMN_FIELD, WATCH_PREFIX, Cell, Kind
from greenops_tb.format.schema import COMPACT_JSON, RECORD_FIELDS, SCHEMA_VERSION, DeviceEnergy

#: a field's index in a record's values (``record_values(rec)``, Record field order)
FIELD_AT: dict[str, int] = {name: i for i, name in enumerate(RECORD_FIELDS)}
_NUMBER_KINDS = (Kind.INT, Kind.FLOAT, Kind.MAYBE_FLOAT)
#: the record's scalar numbers, its name -> number mappings and its text fields (the hash aside), in Record order
SCALARS = tuple(n for n in RECORD_FIELDS if BY_NAME[n].kind in _NUMBER_KINDS)
MAYBE = tuple(n for n in SCALARS if BY_NAME[n].kind is Kind.MAYBE_FLOAT)
MAPS = tuple(n for n in RECORD_FIELDS if BY_NAME[n].kind is Kind.NUMBERS)
TEXTS = tuple(n for n in RECORD_FIELDS if BY_NAME[n].kind is Kind.TEXT and BY_NAME[n].cell is not Cell.CHAIN)
WATCHED = next(f.name for f in BY_NAME.values() if f.cell is Cell.WATCH)
#: a scalar field's place among a record's numbers
NUMBER_AT: dict[str, int] = {name: i for i, name in enumerate(SCALARS)}
HASH_AT = FIELD_AT[next(f.name for f in BY_NAME.values() if f.cell is Cell.CHAIN)]
DEVICES_AT = FIELD_AT[next(f.name for f in BY_NAME.values() if f.kind is Kind.DEVICES)]
_scalars = operator.itemgetter(*(FIELD_AT[n] for n in SCALARS))
_maps = operator.itemgetter(*(FIELD_AT[n] for n in MAPS))
_texts = operator.itemgetter(*(FIELD_AT[n] for n in TEXTS))


def shape_of(values: tuple) -> tuple:
    """What a :class:`Form` is compiled from: a record's texts, mapping keys and devices (with provenance and
    context keys), from its values in ``Record`` field order."""
    return (_texts(values), tuple(map(tuple, _maps(values))),
            tuple((i, d.kind, d.provenance, tuple(d.context)) for i, d in values[DEVICES_AT].items()))


def numbers_of(values: tuple) -> list[Any]:
    """A record's numbers in position order (see the module docstring)."""
    nums = list(_scalars(values))
    for m in _maps(values):
        nums += m.values()
    for d in values[DEVICES_AT].values():
        nums.append(d.energy_kwh)
        if d.context:
            nums += d.context.values()
    return nums


def _json_text(s: str) -> str:
    return COMPACT_JSON.encode(s)


class _Part:
    """One template piece (a JSON value, a CSV cell): literal texts with a slot between each two (``lits`` has one
    more item than ``at``), and the positions of the numbers that fill the slots."""

    __slots__ = ("lits", "at")

    def __init__(self, text: str = "", lits: Sequence[str] = (), at: Sequence[int] = ()) -> None:
        self.lits, self.at = list(lits) or [text], list(at)

    @classmethod
    def slot(cls, i: int) -> "_Part":
        """One number: the one at position ``i``."""
        return cls(lits=("", ""), at=(i,))

    def __add__(self, other: "_Part") -> "_Part":
        return _Part(lits=[*self.lits[:-1], self.lits[-1] + other.lits[0], *other.lits[1:]], at=self.at + other.at)

    def map(self, fn: Callable[[str], str]) -> "_Part":
        """The same slots, ``fn`` applied to every literal text."""
        return _Part(lits=list(map(fn, self.lits)), at=self.at)

    @classmethod
    def join(cls, sep: str, parts: Iterable["_Part"]) -> "_Part":
        out: _Part | None = None
        for p in parts:
            out = p if out is None else out + _Part(sep) + p
        return out or cls()

    @classmethod
    def obj(cls, items: Iterable[tuple[str, "_Part"]]) -> "_Part":
        """A JSON object of these members."""
        return _Part("{") + cls.join(",", (_Part(_json_text(k) + ":") + p for k, p in items)) + _Part("}")


class Template:
    """Text with slots, filled from a record's number texts: the literal pieces and the slots, interleaved, and
    which text fills each slot (``args``, from :func:`_positions`)."""

    __slots__ = ("_pieces", "_args")

    def __init__(self, part: _Part, args: Callable[[Sequence[str]], tuple] | None = None) -> None:
        pieces: list[str | None] = [None] * (2 * len(part.lits) - 1)
        pieces[::2] = part.lits
        self._pieces = pieces
        self._args = _positions(part.at) if args is None else args

    def fill(self, texts: Sequence[str]) -> str:
        """The text with its slots filled from ``texts``."""
        pieces = self._pieces[:]
        pieces[1::2] = self._args(texts)
        return "".join(pieces)  # type: ignore[arg-type]  # every slot filled above


def one_line(text: str) -> str:
    """A text cell: neutralised against spreadsheet formulas, raw line breaks made spaces (one line, one row)."""
    return neutralise_text(text).replace("\r", " ").replace("\n", " ")


def _quote_text(cell: str) -> str:
    """A text cell as the csv writer writes it inside a row ('' stays empty). A writer of its own per call: forms
    are compiled from any thread (the records thread, a reader exporting rows)."""
    if not cell:
        return cell
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow((cell,))
    return out.getvalue()


def quote_json(cell: str) -> str:
    """A JSON cell as the csv writer writes it (RFC 4180: quoted when it holds a quote or a comma, quotes
    doubled). JSON text holds no raw line break, the only other reason to quote."""
    if '"' in cell or "," in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _quoted_json(part: _Part) -> _Part:
    """A JSON cell's part as :func:`quote_json` quotes its text (its slots hold numbers: no quote, no comma)."""
    text = "".join(part.lits)
    if quote_json(text) == text:
        return part
    return _Part('"') + part.map(lambda lit: lit.replace('"', '""')) + _Part('"')


def _positions(at: Sequence[int]) -> Callable[[Sequence[str]], tuple]:
    if len(at) == 1:
        only = at[0]
        return lambda cells: (cells[only],)
    return operator.itemgetter(*at) if at else (lambda cells: ())


class Form:
    """The compiled text of records of one shape (see the module docstring)."""

    __slots__ = ("shape", "size", "_at", "json", "_devices", "_maps", "_rows", "watched",
                 "watched_span", "_spans", "_order")

    def __init__(self, shape: tuple) -> None:
        _, maps, devices = shape
        self.shape = shape
        at: dict[Any, int] = {name: i for i, name in enumerate(SCALARS)}
        for name, keys in zip(MAPS, maps):
            at.update(((name, k), len(at)) for k in keys)
        for dev, _kind, _prov, context in devices:
            at[(DEVICES_AT, dev)] = len(at)
            at.update(((DEVICES_AT, dev, k), len(at)) for k in context)
        self.size = len(at)
        self._at = at
        self._maps = dict(zip(MAPS, maps))
        #: the watched names, in the records' order (their numbers: ``nums[form.watched_span]``)
        self.watched: tuple[str, ...] = self._maps[WATCHED]
        self._spans = {name: self._span(name) for name in MAPS}
        self.watched_span = self._spans[WATCHED]
        # values() puts the scalars, the mappings, the devices, the hash and the texts in Record's order
        gathered = [*SCALARS, *MAPS, RECORD_FIELDS[DEVICES_AT], RECORD_FIELDS[HASH_AT], *TEXTS]
        self._order = operator.itemgetter(*(gathered.index(name) for name in RECORD_FIELDS))
        self._devices = _Part.obj((dev, self._device(dev, kind, prov, context)) for dev, kind, prov, context in devices)
        members: list[tuple[str, _Part]] = []
        for name in RECORD_FIELDS:
            f = BY_NAME[name]
            if f.cell is Cell.CHAIN:
                part = _Part.slot(self.size)  # the hash's JSON text
            elif f.kind is Kind.TEXT:
                part = _Part(_json_text(self.text_of(name)))
            elif f.kind is Kind.DEVICES:
                part = self._devices
            elif f.kind is Kind.NUMBERS:
                part = self._map(name)
            else:
                part = _Part.slot(at[name])
            members.append((name, part))
        whole = _Part.obj([*members, ("schema", _Part(str(SCHEMA_VERSION)))])
        #: the record's JSON, filled from its JSON number texts (the hash's at ``size``)
        self.json = Template(whole)
        self._rows: dict[tuple[str, ...], RowForm] = {}

    def _device(self, dev: str, kind: str, prov: str, context: tuple[str, ...]) -> _Part:
        """One device's JSON object, as ``DeviceEnergy.to_json`` has it (no ``context`` key when it is empty)."""
        members = [("kind", _Part(_json_text(kind))), ("energy_kwh", _Part.slot(self._at[(DEVICES_AT, dev)])),
                   ("provenance", _Part(_json_text(prov)))]
        if context:
            members.append(("context", self._map_part(context, lambda k: self._at[(DEVICES_AT, dev, k)])))
        return _Part.obj(members)

    @staticmethod
    def _map_part(keys: Iterable[str], at: Callable[[str], int]) -> _Part:
        return _Part.obj((k, _Part.slot(at(k))) for k in keys)

    def _map(self, name: str, keys: Iterable[str] | None = None) -> _Part:
        """Mapping field ``name`` (its keys ``keys`` only, if given) as a JSON object."""
        return self._map_part(self._maps[name] if keys is None else keys, lambda k: self._at[(name, k)])

    def _span(self, name: str) -> slice:
        """Where mapping field ``name``'s numbers are among a record's numbers."""
        keys = self._maps[name]
        start = self._at[(name, keys[0])] if keys else 0
        return slice(start, start + len(keys))

    def values(self, nums: Sequence[Any], chain_hash: str) -> tuple:
        """The values (``Record`` field order) of the record of this shape whose numbers are ``nums``."""
        at = self._at
        parts: list[Any] = [dict(zip(self._maps[name], nums[self._spans[name]])) for name in MAPS]
        parts.append({dev: DeviceEnergy(kind, nums[at[(DEVICES_AT, dev)]], prov,
                                        {k: nums[at[(DEVICES_AT, dev, k)]] for k in ctx})
                      for dev, kind, prov, ctx in self.shape[2]})
        parts.append(chain_hash)
        return self._order([*nums[:len(SCALARS)], *parts, *self.shape[0]])

    def text_of(self, name: str) -> str:
        """Text field ``name``'s value in records of this shape."""
        return self.shape[0][TEXTS.index(name)]

    def row(self, columns: tuple[str, ...]) -> "RowForm":
        """This shape's :class:`RowForm` for a CSV header (remembered)."""
        form = self._rows.get(columns)
        if form is None:
            form = self._rows[columns] = RowForm(self, columns)
        return form

    def cell(self, column: str, watch_columns: frozenset[str]) -> tuple[str, bool, _Part]:
        """Column ``column``'s cell: (its text, if it is a text cell, unquoted; whether it is a JSON cell; the part,
        unquoted)."""
        if column.startswith(WATCH_PREFIX):
            name = column[len(WATCH_PREFIX):]
            key = (WATCHED, name)
            return "", False, _Part.slot(self._at[key]) if key in self._at else _Part()
        f = COLUMN_FIELD[column]
        if f.cell is Cell.SPREAD:
            key = (f.name, column[len(f.name) + 1:])
            return "", False, _Part.slot(self._at[key]) if key in self._at else _Part()
        if f.cell is Cell.CHAIN:
            return "", False, _Part.slot(self.size)
        if f.cell is Cell.ONE:
            if f.kind is Kind.TEXT:
                return one_line(self.text_of(f.name)), False, _Part()
            return "", False, _Part.slot(self._at[f.name])
        if f.cell is Cell.DEVICES:
            if column == "provenance":
                devices = sorted(self.shape[2])
                return one_line(";".join(f"{d[0]}={d[2]}" for d in devices)), False, _Part()
            return "", True, self._devices
        keys = self._maps[f.name]
        if f.cell is Cell.WATCH:  # watched_extra: names without a column of their own
            keys = tuple(k for k in keys if WATCH_PREFIX + k not in watch_columns)
        return "", True, self._map(f.name, keys) if keys else _Part()


class RowForm:
    """A :class:`Form`'s CSV row for one header, as the CSV sink writes it (:attr:`csv`: quoted cells, the chain
    column included when the header has it), and its cells unquoted, joined by 0x1F, as the hash chain links
    them (:attr:`chain`; the chain gives the header without its own column).

    Each is a pair of templates (:class:`Template`), indexed by
    :attr:`~greenops_tb.format.text.RecordText.exact`, filled from a record's CSV texts
    (:attr:`~greenops_tb.format.text.RecordText.csv_texts`): its CSV number texts, the hash at
    ``Form.size``, followed, when a number is not finite (``exact``), by its JSON texts, which JSON cells
    take theirs from (``NaN`` there, ``nan`` in a number's own cell).
    """

    __slots__ = ("csv", "chain", "_cells", "_splits")

    def __init__(self, form: Form, columns: tuple[str, ...]) -> None:
        watch_columns = frozenset(c for c in columns if c.startswith(WATCH_PREFIX))
        quoted: list[tuple[_Part, bool]] = []
        plain: list[tuple[_Part, bool]] = []
        for column in columns:
            text, json_cell, part = form.cell(column, watch_columns)
            if text:  # a text cell (no numbers)
                quoted.append((_Part(_quote_text(text)), False))
                part = _Part(text)
            else:
                quoted.append((_quoted_json(part) if json_cell else part, json_cell))
            plain.append((part, json_cell))
        shift = form.size + 1  # where the JSON texts start, when they follow

        def pair(parts: list[tuple[_Part, bool]], whole: _Part) -> tuple[Template, Template]:
            return (Template(whole, _positions([i for p, _ in parts for i in p.at])),
                    Template(whole, _positions([i + shift * j for p, j in parts for i in p.at])))

        self.csv = pair(quoted, _Part.join(",", (p for p, _ in quoted)) + _Part("\r\n"))
        self.chain = pair(plain, _Part.join("\x1f", (p for p, _ in plain)))
        self._cells = [pair([(p, j)], p) for p, j in plain]
        # a cell's text can hold 0x1F only where a text field does: then cells() fills them one by one
        self._splits = "\x1f" not in "".join(lit for p, _ in plain for lit in p.lits)

    def cells(self, texts: Sequence[str], exact: bool) -> list[str]:
        """The unquoted cells of a record whose CSV texts are ``texts`` (``exact``: not all finite)."""
        if not self._cells:
            return []
        if self._splits:
            return self.chain[exact].fill(texts).split("\x1f")
        return [cell[exact].fill(texts) for cell in self._cells]


class HeaderRows(dict):
    """Each shape's :class:`RowForm` for one CSV header, looked up by the form itself (a sink's header is fixed:
    no hashing of its columns per record)."""

    def __init__(self, columns: Sequence[str]) -> None:
        super().__init__()
        self.columns = tuple(columns)

    def __missing__(self, form: Form) -> RowForm:
        row = self[form] = form.row(self.columns)
        return row


@functools.lru_cache(maxsize=256)
def form_of(shape: tuple) -> Form:
    """The compiled :class:`Form` of a shape (remembered: a run has a few)."""
    return Form(shape)
