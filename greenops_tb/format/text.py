"""A record's text, formatted once for every sink (the CSV row and the event's record JSON).

Numbers are formatted by orjson (shortest round-trip text, in C: ~60 numbers in ~2 us, against
~25 us for ``repr`` one by one), all of a record's in one call, and put into its shape's compiled
templates (:mod:`greenops_tb.format.forms`). orjson writes ``null`` for NaN and infinities, so a record
holding one (a NaN loss, say) takes the standard library's path instead, which keeps them as
``nan``/``inf`` in the CSV and ``NaN``/``Infinity`` in the JSON; both paths read back to the same
record. Every sink gets a record's one :class:`RecordText`, so each text is built once, and the
:class:`~greenops_tb.format.schema.Record` itself only when someone asks for it.
"""
from __future__ import annotations

import operator
from typing import Any, Sequence

import orjson

from greenops_tb.format.columns import format_float
from greenops_tb.format.forms import HASH_AT, MAYBE, NUMBER_AT, Form, form_of, numbers_of, one_line, shape_of
from greenops_tb.format.schema import COMPACT_JSON, Record, record_values


#: what orjson writes for None, and (the reason for the standard library's path) for NaN and infinities
_NULL = "null"
#: the places of the numbers that may be None (the fields of kind MAYBE_FLOAT) among a record's numbers
MAYBE_AT = tuple(NUMBER_AT[n] for n in MAYBE)
_maybe = operator.itemgetter(*MAYBE_AT)


def _json_number(v: Any) -> str:
    """One number's JSON text on the standard library's path (``NaN``, ``Infinity`` kept; None: ``null``)."""
    return "null" if v is None else repr(v) if type(v) is int else COMPACT_JSON.encode(float(v))


def _cell(v: Any) -> str:
    """One number's CSV text on the standard library's path: '' for None, ``nan``/``inf`` kept."""
    return repr(v) if type(v) is int else format_float(v)


def number_texts(values: Sequence[Any], nones: int, none_at: Sequence[int]) -> tuple[list[str], list[str], bool]:
    """(JSON texts, CSV texts, whether the standard library's path was taken) of numbers (ints, floats, None), ``nones`` of
    them None, at places among ``none_at``: orjson's shortest round-trip text ('' in the
    CSV, ``null`` in JSON for None), or, when one is not finite or not a plain number (orjson would write
    it as null, or refuse it), the standard library's (``repr``; ``nan`` and ``inf`` in the CSV, ``NaN``
    and ``Infinity`` in JSON)."""
    if not values:
        return [], [], False
    try:
        text = orjson.dumps(values)[1:-1].decode("ascii")
    except TypeError:  # not a plain number
        text = ""
    if text.count(_NULL) != nones or not text:  # a NaN or an infinity (written as null), or none written
        return list(map(_json_number, values)), list(map(_cell, values)), True
    texts = text.split(",")
    cells = texts[:]
    if nones:
        for i in none_at:
            if cells[i] == _NULL:
                cells[i] = ""
    return texts, cells, False


def _json_hash(h: str) -> str:
    return '"' + h + '"' if h.isalnum() else COMPACT_JSON.encode(h)


def _csv_hash(h: str) -> str:
    return h if h.isalnum() or not h else one_line(h)


class RecordText:
    """A record as its shape's compiled :class:`~greenops_tb.format.forms.Form` and its numbers (in the form's
    position order), and its text forms, each built once (on first use) for every sink: the numbers' texts
    (:func:`number_texts`), the JSON, and the record itself (:attr:`rec`) only when asked for.

    Never changed once shared: the chain hash is set by :meth:`with_hash`, a new object.
    """

    __slots__ = ("form", "nums", "chain_hash", "_values", "_rec", "_json", "_csv", "exact")

    def __init__(self, rec: Record | tuple) -> None:
        """Of a record, or of its values in field order (``record_values(rec)``)."""
        if isinstance(rec, Record):
            values: tuple = record_values(rec)
            self._rec: Record | None = rec
        else:
            values, self._rec = rec, None
        self._values: tuple | None = values
        self.form: Form = form_of(shape_of(values))
        self.nums: list[Any] = numbers_of(values)
        self.chain_hash: str = values[HASH_AT]
        self._json: list[str] | None = None

    @classmethod
    def of_numbers(cls, form: Form, nums: list[Any], chain_hash: str = "") -> "RecordText":
        """The record of shape ``form`` whose numbers are ``nums`` (its values are made when asked for)."""
        text = cls.__new__(cls)
        text.form, text.nums, text.chain_hash = form, nums, chain_hash
        text._values = text._rec = text._json = None
        return text

    @property
    def values(self) -> tuple:
        """The record's values in ``Record`` field order."""
        if self._values is None:
            self._values = self.form.values(self.nums, self.chain_hash)
        return self._values

    @property
    def rec(self) -> Record:
        if self._rec is None:
            self._rec = Record(*self.values)
        return self._rec

    def _texts(self) -> list[str]:
        if self._json is None:
            nums = self.nums
            jt, ct, self.exact = number_texts(nums, _maybe(nums).count(None), MAYBE_AT)
            h = self.chain_hash
            jt.append(_json_hash(h))
            ct.append(_csv_hash(h))
            self._json, self._csv = jt, (ct + jt if self.exact else ct)
        return self._json

    @property
    def csv_texts(self) -> list[str]:
        """The CSV texts :class:`~greenops_tb.format.forms.RowForm` takes its arguments from."""
        self._texts()
        return self._csv

    def json_bytes(self) -> bytes:
        """The record's JSON, UTF-8: ``json.dumps(rec.to_json(), separators=(",", ":"))`` read back."""
        form = self.form
        return form.json.fill(self._texts()).encode()

    def json(self) -> str:
        """:meth:`json_bytes` as text."""
        return self.json_bytes().decode()

    def cells(self, columns: Sequence[str]) -> list[str]:
        """The record's unquoted CSV cells for a header (line breaks in text made spaces)."""
        return self.form.row(tuple(columns)).cells(self.csv_texts, self.exact)

    def with_hash(self, h: str) -> "RecordText":
        """This record with ``chain_hash`` ``h`` (its texts reused)."""
        other = RecordText.of_numbers(self.form, self.nums, h)
        if self._json is not None:
            size = self.form.size
            other._json, other.exact = self._json[:], self.exact
            other._json[size] = _json_hash(h)
            other._csv = self._csv[:]
            other._csv[size] = _csv_hash(h)
            if self.exact:
                other._csv[2 * size + 1] = other._json[size]
        return other
