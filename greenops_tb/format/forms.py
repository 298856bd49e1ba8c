"""Compiled text forms of records of one shape: the record JSON and CSV rows as ``%`` templates.

A run's records share a *shape*: the same text fields (run, stage, location, sources), the same keys in
their mappings (grid sources, watched names, devices and their provenance). A shape's :class:`Form` is
compiled once from the field table (:mod:`greenops_tb.format.fields`): every text is escaped, neutralised
and quoted there, once, and every number has a position. A record's text is then its numbers formatted
in one call (:func:`greenops_tb.format.text.number_texts`) put into the form's templates: the record
JSON (:attr:`Form.json_template`) and, per CSV header, the row and the hash chain's text (:class:`RowForm`).

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


def _lit(text: str) -> str:
    """Literal text inside a ``%`` template."""
    return text.replace("%", "%%")


def _json_text(s: str) -> str:
    return _lit(COMPACT_JSON.encode(s))


class _Part:
    """One template piece (a JSON value, a CSV cell): its text with ``%s`` per number, and their positions."""

    __slots__ = ("text", "at")

    def __init__(self, text: str, at: Sequence[int] = ()) -> None:
        self.text, self.at = text, list(at)

    @classmethod
    def obj(cls, items: Iterable[tuple[str, "_Part"]]) -> "_Part":
        """A JSON object of these members."""
        items = list(items)
        return cls("{" + ",".join(_json_text(k) + ":" + p.text for k, p in items) + "}",
                   [i for _, p in items for i in p.at])


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


def _positions(at: Sequence[int]) -> Callable[[Sequence[str]], tuple]:
    if len(at) == 1:
        only = at[0]
        return lambda cells: (cells[only],)
    return operator.itemgetter(*at) if at else (lambda cells: ())


class Form:
    """The compiled text of records of one shape (see the module docstring)."""

    __slots__ = ("shape", "size", "_at", "json_template", "json_args", "_devices", "_maps", "_rows", "watched",
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
                part = _Part("%s", [self.size])  # the hash's JSON text
            elif f.kind is Kind.TEXT:
                part = _Part(_json_text(self.text_of(name)))
            elif f.kind is Kind.DEVICES:
                part = self._devices
            elif f.kind is Kind.NUMBERS:
                part = self._map(name)
            else:
                part = _Part("%s", [at[name]])
            members.append((name, part))
        whole = _Part.obj([*members, ("schema", _Part(str(SCHEMA_VERSION)))])
        self.json_template: str = whole.text
        #: the arguments of :attr:`json_template` from a record's JSON number texts (the hash's at ``size``)
        self.json_args = _positions(whole.at)
        self._rows: dict[tuple[str, ...], RowForm] = {}

    def _device(self, dev: str, kind: str, prov: str, context: tuple[str, ...]) -> _Part:
        """One device's JSON object, as ``DeviceEnergy.to_json`` has it (no ``context`` key when it is empty)."""
        members = [("kind", _Part(_json_text(kind))), ("energy_kwh", _Part("%s", [self._at[(DEVICES_AT, dev)]])),
                   ("provenance", _Part(_json_text(prov)))]
        if context:
            members.append(("context", self._map_part(context, lambda k: self._at[(DEVICES_AT, dev, k)])))
        return _Part.obj(members)

    @staticmethod
    def _map_part(keys: Iterable[str], at: Callable[[str], int]) -> _Part:
        return _Part.obj((k, _Part("%s", [at(k)])) for k in keys)

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
        """Column ``column``'s cell: (its text, unquoted, with ``%s`` per number; whether it is a JSON cell;
        the part)."""
        if column.startswith(WATCH_PREFIX):
            name = column[len(WATCH_PREFIX):]
            key = (WATCHED, name)
            return "", False, _Part("%s", [self._at[key]]) if key in self._at else _Part("")
        f = COLUMN_FIELD[column]
        if f.cell is Cell.SPREAD:
            key = (f.name, column[len(f.name) + 1:])
            return "", False, _Part("%s", [self._at[key]]) if key in self._at else _Part("")
        if f.cell is Cell.CHAIN:
            return "", False, _Part("%s", [self.size])
        if f.cell is Cell.ONE:
            if f.kind is Kind.TEXT:
                return one_line(self.text_of(f.name)), False, _Part("")
            return "", False, _Part("%s", [self._at[f.name]])
        if f.cell is Cell.DEVICES:
            if column == "provenance":
                devices = sorted(self.shape[2])
                return one_line(";".join(f"{d[0]}={d[2]}" for d in devices)), False, _Part("")
            return "", True, self._devices
        keys = self._maps[f.name]
        if f.cell is Cell.WATCH:  # watched_extra: names without a column of their own
            keys = tuple(k for k in keys if WATCH_PREFIX + k not in watch_columns)
        return "", True, self._map(f.name, keys) if keys else _Part("")


class RowForm:
    """A :class:`Form`'s CSV row for one header, as the CSV sink writes it (``csv_template``: quoted cells,
    the chain column included when the header has it), and its cells unquoted, joined by 0x1F, as the hash
    chain links them (``chain_template``; the chain gives the header without its own column).

    Their arguments (``csv_args``, ``chain_args``) are taken from a record's CSV texts
    (:attr:`greenops_tb.format.text.RecordText.csv_texts`): its CSV number texts, the hash at ``Form.size``,
    followed, when a number is not finite, by its JSON texts, which JSON cells take theirs from (``NaN``
    there, ``nan`` in a number's own cell). Each is a pair: (all finite, not).
    """

    __slots__ = ("csv_template", "csv_args", "chain_template", "chain_args", "_plain", "_splits")

    def __init__(self, form: Form, columns: tuple[str, ...]) -> None:
        watch_columns = frozenset(c for c in columns if c.startswith(WATCH_PREFIX))
        quoted: list[tuple[_Part, bool]] = []
        plain: list[tuple[_Part, bool]] = []
        for column in columns:
            text, json_cell, part = form.cell(column, watch_columns)
            if text:  # a text cell (no numbers)
                quoted.append((_Part(_lit(_quote_text(text))), False))
                part = _Part(_lit(text))
            else:
                quoted.append((_Part(quote_json(part.text), part.at) if json_cell else part, json_cell))
            plain.append((part, json_cell))
        shift = form.size + 1  # where the JSON texts start, when they follow

        def args(parts: list[tuple[_Part, bool]]) -> tuple[Callable[[Sequence[str]], tuple], ...]:
            return (_positions([i for p, _ in parts for i in p.at]),
                    _positions([i + shift * j for p, j in parts for i in p.at]))

        self.csv_template = ",".join(p.text for p, _ in quoted) + "\r\n"
        self.csv_args = args(quoted)
        self.chain_template = "\x1f".join(p.text for p, _ in plain)
        self.chain_args = args(plain)
        self._plain = [(p.text, (p.at, [i + shift * j for i in p.at])) for p, j in plain]
        # a cell's text can hold 0x1F only where a text field does: then cells() formats them one by one
        self._splits = "\x1f" not in "".join(p.text for p, _ in plain if not p.at)

    def cells(self, texts: Sequence[str], exact: bool) -> list[str]:
        """The unquoted cells of a record whose CSV texts are ``texts`` (``exact``: not all finite)."""
        if not self._plain:
            return []
        if self._splits:
            return (self.chain_template % self.chain_args[exact](texts)).split("\x1f")
        return [text % tuple(texts[i] for i in at[exact]) for text, at in self._plain]


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
