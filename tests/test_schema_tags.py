"""The wire formats' versions and the tag layout: newer data is refused with an upgrade hint, older
data loads, tags parse back into what built them, and a sink failing with any error costs one warning."""
from __future__ import annotations

import json

import pytest
from tensorboard import context
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from torch.utils.tensorboard.writer import FileWriter

from greenops_tb import ConstantPowerSource, GreenSummaryWriter
from greenops_tb.readers.events import green_runs, local_provider, read_runs
from greenops_tb.format.schema import NewerFormatError, Record
from greenops_tb.format.tags import (
    parse_plugin_content,
    parse_scalar_tag,
    parse_watch_tag,
    record_tag,
    scalar_tag,
    stage_of_record_tag,
    stages_of_scalar_tags,
    watch_tag,
)

UPGRADE = "upgrade greenops_tb: pip install -U greenops_tb"


def _one_record(tmp_path) -> Record:
    w = GreenSummaryWriter(str(tmp_path / "run"), country="DE", meters=[ConstantPowerSource({"cpu:0": 10.0})])
    w.start("train")
    rec = w.stop("train")
    w.close()
    return rec


def test_a_record_of_a_newer_schema_asks_for_an_upgrade_and_an_older_one_loads(tmp_path):
    rec = _one_record(tmp_path)
    d = json.loads(rec.to_json_str())
    assert d["schema"] == 1
    with pytest.raises(NewerFormatError, match=r"written by a newer greenops_tb \(schema 2\); " + UPGRADE):
        Record.from_json({**d, "schema": 2})
    del d["schema"]  # as if written before the field existed
    assert Record.from_json(d) == rec


def _tensor_summary(tag: str, content: bytes, text: str) -> summary_pb2.Summary:
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="green", content=content),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=tensor_shape_pb2.TensorShapeProto(),
                                    string_val=[text.encode()])
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=meta, tensor=tensor)
    return summary


def test_event_data_of_a_newer_layout_asks_for_an_upgrade(tmp_path):
    rec = _one_record(tmp_path)
    fw = FileWriter(str(tmp_path / "newer"))
    fw.add_summary(_tensor_summary("green/train/record", b"2", rec.to_json_str()), 0, rec.end_time)
    fw.close()
    provider = local_provider(str(tmp_path))
    with pytest.raises(NewerFormatError, match=r"\(TensorBoard layout 2\); " + UPGRADE):
        green_runs(provider, context.RequestContext(), "")


def test_files_of_this_layout_read_back_and_foreign_content_is_not_a_version(tmp_path):
    rec = _one_record(tmp_path)
    runs = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")
    assert [r.seq for r in runs["run"].records] == [rec.seq]
    assert parse_plugin_content(b"1") == 1
    with pytest.raises(ValueError, match="not a layout version"):
        parse_plugin_content(b"{}")


def test_tags_are_built_as_documented_and_parse_back():
    assert record_tag("eval/val") == "green/eval/val/record"
    assert scalar_tag("eval/val", "co2_kg") == "green/eval/val/co2_kg"
    assert watch_tag("eval/val", "lr/head") == "watch/eval/val/lr/head"
    assert stage_of_record_tag("green/eval/val/record") == "eval/val"
    assert stage_of_record_tag("green/run_metadata") is None
    tags = ["green/eval/energy_kwh", "green/eval/val/energy_kwh", "green/eval/val/co2_kg", "watch/eval/val/x"]
    stages = stages_of_scalar_tags(tags)
    assert stages == ["eval", "eval/val"]
    assert parse_scalar_tag("green/eval/val/co2_kg", stages) == ("eval/val", "co2_kg")
    assert parse_watch_tag("watch/eval/val/lr/head", stages) == ("eval/val", "lr/head")
    assert parse_watch_tag("green/eval/val/co2_kg", stages) is None


def test_a_sink_failing_with_a_non_os_error_warns_once_and_the_events_keep_every_record(tmp_path):
    # a run name with a lone surrogate cannot be written as UTF-8: the CSV fails with UnicodeEncodeError
    w = GreenSummaryWriter(str(tmp_path / "run"), country="DE", run_name="r\ud800",
                           meters=[ConstantPowerSource({"cpu:0": 10.0})])
    with pytest.warns(RuntimeWarning, match=r"writing the csv failed \(UnicodeEncodeError") as caught:
        w.start("train")
        w.update("train")
        w.update("train")
        w.update("train")
        w.close()  # stops train: the fourth record
    assert sum("writing the csv failed" in str(c.message) for c in caught) == 1
    runs = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")
    assert [r.seq for r in runs["run"].records] == [0, 1, 2, 3]
