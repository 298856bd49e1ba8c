"""Records as TensorBoard summaries: ONE ``Summary`` (one event) per record.

The layout of tags is defined in :mod:`greenops_tb.records`. Protos are built
directly (no per-value ``add_scalar``), so one record costs one event.
"""
from __future__ import annotations

from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from greenops_tb.records import (
    EVENT_SCALARS,
    PLUGIN_NAME,
    RUN_METADATA_TAG,
    Record,
    RunMetadata,
    record_tag,
    scalar_tag,
    watch_tag,
)

_SCALAR_META = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
)
_GREEN_META = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME, content=b"1"),
    data_class=summary_pb2.DATA_CLASS_TENSOR,
)
_SCALAR_SHAPE = tensor_shape_pb2.TensorShapeProto()


def _string_tensor(s: str) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=_SCALAR_SHAPE, string_val=[s.encode()])


def _add_scalar(summary: summary_pb2.Summary, tag: str, value: float) -> None:
    summary.value.add(
        tag=tag,
        metadata=_SCALAR_META,
        tensor=tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=_SCALAR_SHAPE, float_val=[value]),
    )


def record_summary(rec: Record, *, scalars: bool = True) -> summary_pb2.Summary:
    """The full record (JSON tensor, plugin ``green``) plus, if ``scalars``, its scalars and watched values."""
    summary = summary_pb2.Summary()
    summary.value.add(tag=record_tag(rec.stage), metadata=_GREEN_META, tensor=_string_tensor(rec.to_json_str()))
    if scalars:
        for suffix, attr in EVENT_SCALARS.items():
            v = getattr(rec, attr)
            if v is not None:
                _add_scalar(summary, scalar_tag(rec.stage, suffix), v)
        for name, v in rec.watched.items():
            _add_scalar(summary, watch_tag(rec.stage, name), v)
    return summary


def metadata_summary(meta: RunMetadata) -> summary_pb2.Summary:
    summary = summary_pb2.Summary()
    summary.value.add(tag=RUN_METADATA_TAG, metadata=_GREEN_META, tensor=_string_tensor(meta.to_json_str()))
    return summary
