"""A record's text, formatted once for every sink (the CSV row and the event's record JSON).

A 17-digit float costs ~0.4 us to format and a record holds ~35 of them, so the
CSV row and the record JSON share one :class:`RecordText`: every number is
formatted once per record.
"""
from __future__ import annotations

import functools
import operator
from json.encoder import encode_basestring_ascii as _json_str  # how COMPACT_JSON writes text (ensure_ascii)
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from greenops_tb.format.columns import format_float
from greenops_tb.format.fields import FIELDS, Cell, Kind, of_kind
from greenops_tb.format.schema import COMPACT_JSON, RECORD_FIELDS, SCHEMA_VERSION, Record


def getter(names: Sequence[Any], get: Callable[..., Callable[[Any], Any]] = operator.attrgetter,
           ) -> Callable[[Any], tuple]:
    """``obj -> tuple of obj.<name>`` (or of ``obj[i]`` with ``get=itemgetter``) for any number of names
    (attrgetter and itemgetter alone unpack one name)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        get1 = get(names[0])
        return lambda obj: (get1(obj),)
    return get(*names)


#: The fields of each one-value kind, in table order: floats (the CSV's number columns and the JSON's),
#: floats or None (unknown), ints, text.
FLOAT_FIELDS: tuple[str, ...] = of_kind(Kind.FLOAT)
OPTIONAL_FIELDS: tuple[str, ...] = of_kind(Kind.MAYBE_FLOAT)
INT_FIELD_ORDER: tuple[str, ...] = of_kind(Kind.INT)
STR_FIELD_ORDER: tuple[str, ...] = of_kind(Kind.TEXT)
#: name -> float fields formatted as a whole (a JSON cell, or the event record only), not cell by cell
#: as ``mix_kwh`` and ``watched`` are (their number texts are :class:`Numbers`')
OWN_MAPS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind is Kind.NUMBERS and f.cell in (Cell.JSON, Cell.NONE))
_float_values, _optional_values = getter(FLOAT_FIELDS), getter(OPTIONAL_FIELDS)
int_values, str_values = getter(INT_FIELD_ORDER), getter(STR_FIELD_ORDER)
#: CSV number text -> JSON's (what json.dumps writes for None, NaN and infinities)
_JSON_NUMBER = {"": "null", "nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def number_texts(values: Sequence[Any]) -> list[str]:
    """:func:`~greenops_tb.format.columns.format_float` of each value, at C speed unless one is None."""
    try:
        return list(map(repr, map(float, values)))
    except TypeError:
        return list(map(format_float, values))


def optional_texts(values: Sequence[Any]) -> list[str]:
    """:func:`number_texts` of values that may be None (unknown), without its exception path."""
    return ["" if v is None else repr(float(v)) for v in values]


def _json_numbers(texts: list[str]) -> list[str]:
    """Number texts as JSON writes them ('' -> null, nan -> NaN, inf -> Infinity)."""
    if all(texts) and "n" not in "".join(texts):  # the usual case: finite numbers only
        return texts
    return [_JSON_NUMBER.get(t, t) for t in texts]


@functools.lru_cache(maxsize=256)
def _object_template(keys: tuple[str, ...]) -> str:
    """``{"k1":%s,"k2":%s}`` with the keys as compact JSON writes them."""
    return "{" + ",".join(_json_str(k).replace("%", "%%") + ":%s" for k in keys) + "}"


@functools.lru_cache(maxsize=256)
def _device_parts(device_id: str, kind: str, provenance: str) -> tuple[str, str]:
    """The JSON of one device around its energy: ``"id":{"kind":..,"energy_kwh":`` and ``,"provenance":..}``."""
    return (f'{_json_str(device_id)}:{{"kind":{_json_str(kind)},"energy_kwh":',
            f',"provenance":{_json_str(provenance)}}}')


def _numbers_object(d: Mapping[str, float], texts: list[str]) -> str:
    return _object_template(tuple(d)) % tuple(_json_numbers(texts)) if d else "{}"


class Numbers(NamedTuple):
    """A record's numbers as text (``repr``, '' for None): ``floats`` follows :data:`FLOAT_FIELDS`,
    ``optional`` the cost fields, ``mix`` and ``watched`` the record's dicts."""

    floats: list[str]
    optional: list[str]
    mix: list[str]
    watched: list[str]


class RecordText:
    """A record's text forms, each built once (on first use) for every sink that needs it.

    ``numbers()`` feeds the CSV row and the record JSON; ``devices_json`` is both the ``devices_json``
    CSV cell and the JSON's ``devices``. Never changed once shared: the text of a copy of the record
    that differs in text fields only (the hash chain's ``chain_hash``) is :meth:`with_record`'s new object.
    """

    __slots__ = ("rec", "_numbers", "_devices", "_maps", "row")

    def __init__(self, rec: Record) -> None:
        self.rec = rec
        self._numbers: Numbers | None = None
        self._devices: str | None = None
        self._maps: dict[str, str] = {}
        #: (a row plan, its cells of this record) once made: the hash chain's, reused by the CSV sink
        self.row: tuple[object, list[str]] | None = None

    def with_record(self, rec: Record) -> "RecordText":
        """The text of ``rec``, a copy of this record that differs in text fields only (numbers reused;
        so are row cells, which hold every text field but the chain hash)."""
        other = RecordText(rec)
        other._numbers, other._devices, other._maps, other.row = self._numbers, self._devices, self._maps, self.row
        return other

    def numbers(self) -> Numbers:
        if self._numbers is None:
            rec = self.rec
            self._numbers = Numbers(number_texts(_float_values(rec)), optional_texts(_optional_values(rec)),
                                    number_texts(tuple(rec.mix_kwh.values())),
                                    number_texts(tuple(rec.watched.values())))
        return self._numbers

    def map_json(self, name: str) -> str:
        """``json.dumps(rec.<name>, separators=(",", ":"))`` of a name -> float field (in :data:`OWN_MAPS`)."""
        out = self._maps.get(name)
        if out is None:
            d = getattr(self.rec, name)
            out = self._maps[name] = _numbers_object(d, number_texts(tuple(d.values())))
        return out

    @property
    def devices_json(self) -> str:
        """``json.dumps({id: device.to_json()}, separators=(",", ":"))``."""
        if self._devices is None:
            parts = []
            for i, d in self.rec.devices.items():
                head, tail = _device_parts(i, d.kind, d.provenance)
                (energy,) = _json_numbers(number_texts((d.energy_kwh,)))
                if d.context:
                    tail = tail[:-1] + ',"context":' + COMPACT_JSON.encode(d.context) + "}"
                parts.append(head + energy + tail)
            self._devices = "{" + ",".join(parts) + "}"
        return self._devices

    def json(self) -> str:
        """The record's JSON, equal to ``json.dumps(rec.to_json(), separators=(",", ":"))``."""
        rec, n = self.rec, self.numbers()
        parts = _json_numbers(n.floats) + _json_numbers(n.optional)  # a new list
        parts += map(int.__repr__, int_values(rec))
        parts += map(_json_str, str_values(rec))
        parts += (_numbers_object(rec.mix_kwh, n.mix), self.devices_json, _numbers_object(rec.watched, n.watched))
        parts += map(self.map_json, OWN_MAPS)
        return _RECORD_TEMPLATE % _JSON_ORDER(parts)


def _json_layout() -> tuple[str, Callable[[list[str]], tuple]]:
    """The record JSON as a %-template in field order, and how to put RecordText.json's parts in that order."""
    groups = [*FLOAT_FIELDS, *OPTIONAL_FIELDS, *INT_FIELD_ORDER, *STR_FIELD_ORDER, "mix_kwh", "devices", "watched",
              *OWN_MAPS]
    template = "{" + ",".join(f'"{f}":%s' for f in RECORD_FIELDS) + f',"schema":{SCHEMA_VERSION}}}'
    return template, operator.itemgetter(*(groups.index(f) for f in RECORD_FIELDS))


_RECORD_TEMPLATE, _JSON_ORDER = _json_layout()
