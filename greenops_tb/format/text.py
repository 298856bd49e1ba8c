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
from greenops_tb.format.schema import (
    COMPACT_JSON,
    DICT_FIELDS,
    INT_FIELDS,
    OPTIONAL_FLOAT_FIELDS,
    RECORD_FIELDS,
    SCHEMA_VERSION,
    SPLIT_FIELDS,
    STR_FIELDS,
    Record,
)


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


#: Record fields that always hold a float, in field order (the CSV's number columns and the JSON's).
FLOAT_FIELDS: tuple[str, ...] = tuple(
    f for f in RECORD_FIELDS if f not in STR_FIELDS | INT_FIELDS | OPTIONAL_FLOAT_FIELDS | DICT_FIELDS
)
#: The cost fields (a float or None), the int fields and the text fields, each in field order.
OPTIONAL_FIELDS: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f in OPTIONAL_FLOAT_FIELDS)
INT_FIELD_ORDER: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f in INT_FIELDS)
STR_FIELD_ORDER: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f in STR_FIELDS)
_float_values, _optional_values = getter(FLOAT_FIELDS), getter(OPTIONAL_FIELDS)
_split_values = getter(SPLIT_FIELDS)
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
    CSV cell and the JSON's ``devices``. Never changed once shared.
    """

    __slots__ = ("rec", "_numbers", "_devices", "_embodied")

    def __init__(self, rec: Record) -> None:
        self.rec = rec
        self._numbers: Numbers | None = None
        self._devices: str | None = None
        self._embodied: str | None = None

    def numbers(self) -> Numbers:
        if self._numbers is None:
            rec = self.rec
            self._numbers = Numbers(number_texts(_float_values(rec)), optional_texts(_optional_values(rec)),
                                    number_texts(tuple(rec.mix_kwh.values())),
                                    number_texts(tuple(rec.watched.values())))
        return self._numbers

    @property
    def embodied_json(self) -> str:
        """``json.dumps(rec.embodied_kg_by_device, separators=(",", ":"))`` (the CSV cell and the JSON's)."""
        if self._embodied is None:
            d = self.rec.embodied_kg_by_device
            self._embodied = _numbers_object(d, number_texts(tuple(d.values())))
        return self._embodied

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
        parts += (_numbers_object(rec.mix_kwh, n.mix), self.devices_json, _numbers_object(rec.watched, n.watched),
                  self.embodied_json)
        for split in _split_values(rec):  # event records only: formatted here, not in numbers()
            parts.append(_numbers_object(split, number_texts(tuple(split.values()))))
        return _RECORD_TEMPLATE % _JSON_ORDER(parts)


def _json_layout() -> tuple[str, Callable[[list[str]], tuple]]:
    """The record JSON as a %-template in field order, and how to put RecordText.json's parts in that order."""
    groups = [*FLOAT_FIELDS, *OPTIONAL_FIELDS, *INT_FIELD_ORDER, *STR_FIELD_ORDER, "mix_kwh", "devices", "watched",
              "embodied_kg_by_device", *SPLIT_FIELDS]
    template = "{" + ",".join(f'"{f}":%s' for f in RECORD_FIELDS) + f',"schema":{SCHEMA_VERSION}}}'
    return template, operator.itemgetter(*(groups.index(f) for f in RECORD_FIELDS))


_RECORD_TEMPLATE, _JSON_ORDER = _json_layout()
