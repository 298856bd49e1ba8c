"""Records as TensorBoard summaries and back: the protos of :mod:`greenops_tb.format.tags`' layout.

:func:`record_summary` is what the event sink writes for a record (one ``Summary``: the record's JSON
as a string tensor under plugin ``green``, its scalars and watched values as ``simple_value`` floats);
:func:`parse_record` turns the string tensor TensorBoard's data provider gives back into the record,
checked against the field table (:mod:`greenops_tb.format.fields`).
"""
from __future__ import annotations

import math
from typing import Any

from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from greenops_tb.format.fields import FIELDS, Kind
from greenops_tb.format.schema import Record, RunMetadata, in_range
from greenops_tb.format.text import RecordText
from greenops_tb.format.tags import (
    EVENT_SCALARS,
    PLUGIN_CONTENT,
    PLUGIN_NAME,
    RUN_METADATA_TAG,
    record_tag,
    scalar_tag,
    watch_tag,
)

GREEN_META = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME, content=PLUGIN_CONTENT),
    data_class=summary_pb2.DATA_CLASS_TENSOR,
)
_SCALAR_SHAPE = tensor_shape_pb2.TensorShapeProto()


def string_tensor(s: str | bytes) -> tensor_pb2.TensorProto:
    data = s if isinstance(s, bytes) else s.encode()
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=_SCALAR_SHAPE, string_val=[data])


def record_summary(rec: Record, *, scalars: bool = True, tag_suffix: str = "") -> summary_pb2.Summary:
    """The full record (JSON tensor, plugin ``green``) plus, if ``scalars``, its scalars and watched values;
    ``tag_suffix``: a rank's (:func:`~greenops_tb.format.tags.rank_tag_suffix`) appended to every tag."""
    summary = summary_pb2.Summary()
    summary.value.add(tag=record_tag(rec.stage) + tag_suffix, metadata=GREEN_META,
                      tensor=string_tensor(RecordText(rec).json_bytes()))
    if scalars:
        for suffix, attr in EVENT_SCALARS.items():
            v = getattr(rec, attr)
            if v is not None:
                summary.value.add(tag=scalar_tag(rec.stage, suffix) + tag_suffix, simple_value=v)
        for name, v in rec.watched.items():
            summary.value.add(tag=watch_tag(rec.stage, name) + tag_suffix, simple_value=v)
    return summary


def metadata_summary(meta: RunMetadata, tag_suffix: str = "") -> summary_pb2.Summary:
    summary = summary_pb2.Summary()
    summary.value.add(tag=RUN_METADATA_TAG + tag_suffix, metadata=GREEN_META, tensor=string_tensor(meta.to_json_str()))
    return summary


# -- reading back -----------------------------------------------------------------------
#: what parsing a foreign or corrupt record raises (valid JSON of any shape included)
MALFORMED = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
#: fields that must hold finite numbers for the totals to mean anything, and the text fields
_FINITE = tuple(f.name for f in FIELDS if f.finite)
_TEXT = tuple(f.name for f in FIELDS if f.kind is Kind.TEXT)


def datum_text(value: Any) -> str:
    """A string tensor's value as the data provider gives it (a 0-d string/bytes array) as text."""
    v = value.item() if hasattr(value, "item") else value
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(v)


def checked(rec: Record) -> Record:
    """``rec`` if its numbers are numbers and its text is text, else ValueError (a corrupt or foreign record)."""
    for name in _FINITE:
        v = getattr(rec, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"record field {name!r} is not a finite number: {v!r}")
    for name in _TEXT:
        if not isinstance(getattr(rec, name), str):
            raise ValueError(f"record field {name!r} is not text: {getattr(rec, name)!r}")
    return in_range(rec)


def parse_record(value: Any) -> Record:
    """The record in a ``green/<stage>/record`` datum's value; one of :data:`MALFORMED` when it is not one
    (:class:`~greenops_tb.format.schema.NewerFormatError` for a newer schema)."""
    return checked(Record.from_json_str(datum_text(value)))
