"""A record's text, formatted once for every sink (the CSV row and the event's record JSON).

Numbers are formatted by orjson (shortest round-trip text, in C: ~60 numbers in ~2 us, against
~25 us for ``repr`` one by one). orjson writes ``null`` for NaN and infinities, so a record
holding one (a NaN loss, say) takes the standard library's path instead, which keeps them as
``nan``/``inf`` in the CSV and ``NaN``/``Infinity`` in the JSON; both paths read back to the same
record. Every sink gets a record's one :class:`RecordText`, so each text is built once.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import orjson

from greenops_tb.format.columns import format_float
from greenops_tb.format.fields import Kind, of_kind
from greenops_tb.format.schema import COMPACT_JSON, SCHEMA_VERSION, Record


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


_SCHEMA_TAIL = b',"schema":%d}' % SCHEMA_VERSION
#: a device without context, as orjson writes the dataclass, and as ``DeviceEnergy.to_json`` has it (no key)
_EMPTY_CONTEXT, _NO_CONTEXT = b',"context":{}}', b"}"
_optional_values = getter(of_kind(Kind.MAYBE_FLOAT))
#: what orjson writes for None, and (the reason for the standard library's path) for NaN and infinities
_NULL = "null"


def _cell(v: Any) -> str:
    """One number's CSV text on the standard library's path: '' for None, ``nan``/``inf`` kept."""
    return repr(v) if type(v) is int else format_float(v)


def number_cells(values: tuple) -> list[str]:
    """The CSV text of each number in ``values`` (ints, floats, None as ''): orjson's shortest round-trip text,
    or, when one is not finite or not a plain number (orjson would write it as null, or refuse it), the
    standard library's (``repr``; ``nan``, ``inf`` kept)."""
    if not values:
        return []
    try:
        text = orjson.dumps(values)[1:-1].decode("ascii")
    except TypeError:  # not a plain number
        return list(map(_cell, values))
    nones = values.count(None)
    if text.count(_NULL) != nones:  # a NaN or an infinity (written as null)
        return list(map(_cell, values))
    return (text.replace(_NULL, "") if nones else text).split(",")  # a number's text never holds "null"


def fast_json(obj: Any, nones: int = 0) -> bytes | None:
    """Compact JSON of ``obj`` (dicts and dataclasses of str, int and finite floats) by orjson, a device's empty
    ``context`` left out as ``DeviceEnergy.to_json`` does; None when it holds a non-finite float or a type
    orjson refuses (the caller then uses ``COMPACT_JSON``). ``nones``: how many member values are None (each
    written ``:null``, as is each NaN, which is how one is found; a text holding ``:null`` sends the object
    down the standard library's path, which is exact too). Inside a JSON string every ``"`` is escaped, so
    ``,"context":{}}`` can only be a device's empty context (no other member of a record holds an object)."""
    try:
        out = orjson.dumps(obj)
    except TypeError:
        return None
    return out.replace(_EMPTY_CONTEXT, _NO_CONTEXT) if out.count(b":null") == nones else None


def map_json(d: dict[str, float]) -> str:
    """``json.dumps(d, separators=(",", ":"))`` of a name -> float mapping (NaN kept as ``NaN``)."""
    out = fast_json(d)
    return out.decode() if out is not None else COMPACT_JSON.encode(d)


class RecordText:
    """A record's text forms, each built once (on first use) for every sink that needs it.

    ``devices_json`` is a CSV cell, ``json_bytes()`` the event's record, ``row`` the CSV cells once made (by the
    hash chain). Never changed once shared: the text of a copy of the record that differs in text fields only
    (the hash chain's ``chain_hash``) is :meth:`with_record`'s new object.
    """

    __slots__ = ("rec", "_devices", "row")

    def __init__(self, rec: Record) -> None:
        self.rec = rec
        self._devices: str | None = None
        #: (a row plan, its cells of this record) once made: the hash chain's, reused by the CSV sink
        self.row: tuple[object, list[str]] | None = None

    def with_record(self, rec: Record) -> "RecordText":
        """The text of ``rec``, a copy of this record that differs in text fields only (its texts reused: row
        cells hold every text field but the chain hash)."""
        other = RecordText(rec)
        other._devices, other.row = self._devices, self.row
        return other

    @property
    def devices_json(self) -> str:
        """``json.dumps({id: device.to_json()}, separators=(",", ":"))``."""
        if self._devices is None:
            devices = self.rec.devices
            out = fast_json(devices)
            self._devices = out.decode() if out is not None else COMPACT_JSON.encode(
                {i: d.to_json() for i, d in devices.items()})
        return self._devices

    def json_bytes(self) -> bytes:
        """The record's JSON, UTF-8: ``json.dumps(rec.to_json(), separators=(",", ":"))`` read back."""
        rec = self.rec
        out = fast_json(rec, _optional_values(rec).count(None))
        if out is None:
            return COMPACT_JSON.encode(rec.to_json()).encode()
        return out[:-1] + _SCHEMA_TAIL

    def json(self) -> str:
        """:meth:`json_bytes` as text."""
        return self.json_bytes().decode()
