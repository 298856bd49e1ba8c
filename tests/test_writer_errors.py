"""Bad input gets a clear error saying what to do; nothing recorded before it is lost."""
from __future__ import annotations

import os
import warnings

import pytest
import torch
from tensorboard import context

from greenops_tb.grid import LocationError
from greenops_tb.readers.csv import read_records
from greenops_tb.readers.events import local_provider, read_runs
from conftest import constant_writer, require


def test_unknown_country_suggests_close_matches(tmp_path):
    with pytest.raises(LocationError) as info:
        constant_writer(tmp_path / "run", country="Germny")
    assert "Germany" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not (tmp_path / "run").exists()  # failed before creating anything


@pytest.mark.parametrize("pue", [0.9, 0, -1, float("nan"), "1.2", True])
def test_pue_below_one_or_not_a_number(tmp_path, pue):
    with pytest.raises(ValueError, match=r"pue must be a finite number >= 1"):
        constant_writer(tmp_path / "run", pue=pue)


@pytest.mark.parametrize("name", ["", "a b", "/train", "train/", "a//b", "tr\nain", "loss?", 5, None,
                                  ".", "..", "eval/..", "./eval"])
def test_bad_stage_names_keep_earlier_records(tmp_path, name):
    w = constant_writer(tmp_path / "run")
    w.start("train")
    w.update("train")
    with pytest.raises(ValueError, match="bad stage name"):
        w.start(name)
    with pytest.raises(ValueError, match="bad stage name"):
        w.stage(name)
    w.close()
    recs = read_records(tmp_path / "run" / "green.csv")
    assert [r.stage for r in recs] == ["train", "train"]


@pytest.mark.parametrize(("option", "value"), [("flush_secs", -1), ("flush_secs", float("nan")),
                                               ("dist_timeout_s", -5.0), ("dist_timeout_s", 0),
                                               ("dist_timeout_s", float("inf")), ("dist_timeout_s", "60")])
def test_negative_or_nonsense_timings_are_refused(tmp_path, option, value):
    with pytest.raises(ValueError, match=rf"{option} must be a"):
        constant_writer(tmp_path / "run", **{option: value})
    assert not (tmp_path / "run").exists()  # failed before creating anything


def test_stop_without_start_and_start_twice_name_the_open_stages(tmp_path):
    w = constant_writer(tmp_path / "run")
    w.start("train")
    w.start("eval")
    first = w.stop("eval")
    with pytest.raises(RuntimeError, match=r"cannot stop stage 'eval': it is not running \(open stages: 'train'\)"):
        w.stop("eval")
    with pytest.raises(RuntimeError, match=r"cannot update stage 'never'.*open stages: 'train'"):
        w.update("never")
    with pytest.raises(RuntimeError, match=r"stage 'train' is already running \(open stages: 'train'\)"):
        w.start("train")
    w.close()  # closes 'train' too
    recs = read_records(tmp_path / "run" / "green.csv")
    assert [(r.stage, r.seq) for r in recs] == [("eval", first.seq), ("train", first.seq + 1)]
    with pytest.raises(RuntimeError, match="closed"):
        w.start("late")


@pytest.mark.parametrize("value", [object(), "abc", torch.ones(3), [1.0, 2.0], {"a": 1, "b": 2}, lambda: "x", None])
def test_unwatchable_values_fail_at_registration(tmp_path, value):
    w = constant_writer(tmp_path / "run")
    w.start("train")
    w.update("train")
    with pytest.raises(ValueError, match="cannot watch 'bad'.*Watch a callable"):
        w.watch("bad", value)
    w.close()
    recs = read_records(tmp_path / "run" / "green.csv")
    assert len(recs) == 2 and all("bad" not in r.watched for r in recs)


def test_unwatchable_value_in_constructor(tmp_path):
    with pytest.raises(ValueError, match="cannot watch 'loss'"):
        constant_writer(tmp_path / "run", watch={"loss": "high"})


def test_unwritable_log_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="writable log_dir"):
        constant_writer(blocker / "run")


def test_unwritable_csv_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="csv_path"):
        constant_writer(tmp_path / "run", csv_path=str(blocker / "green.csv"))


def test_foreign_csv_and_unknown_columns(tmp_path):
    foreign = tmp_path / "data.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a green CSV"):
        constant_writer(tmp_path / "run", csv_path=str(foreign))
    assert foreign.read_text() == "a,b\n1,2\n"  # untouched
    with pytest.raises(ValueError, match="unknown column"):
        constant_writer(tmp_path / "run2", csv_columns=["energy_kwh", "joules"])


def test_failing_watched_callable_records_nan_with_one_warning(tmp_path):
    w = constant_writer(tmp_path / "run")
    state = {"fail": False}

    def loss() -> float:
        if state["fail"]:
            raise RuntimeError("boom")
        return 1.0

    w.watch("loss", loss)
    w.start("train")
    state["fail"] = True
    with pytest.warns(RuntimeWarning, match="watched value 'loss' failed"):
        w.update("train")
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        w.update("train")
        w.update("train")
    assert [str(x.message) for x in later if "watched value" in str(x.message)] == []  # ONE warning, not one per step
    w.close()
    recs = read_records(tmp_path / "run" / "green.csv")
    assert len(recs) >= 3 and all(r.watched["loss"] != r.watched["loss"] for r in recs)  # NaN


def test_csv_disk_full_warns_once_and_events_continue(tmp_path):
    require(os.path.exists("/dev/full"), "/dev/full (a device whose writes fail with ENOSPC)")
    w = constant_writer(tmp_path / "run", csv_path="/dev/full")
    w.start("train")
    with pytest.warns(RuntimeWarning, match="writing the csv failed.*No space left"):
        w.update("train")
        w.flush()  # records are written in batches off the caller's thread; flush() writes them here, now
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        w.update("train")
        w.flush()
    assert [str(x.message) for x in later if "csv" in str(x.message)] == []  # warned once
    w.close()
    runs = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")
    assert [r.seq for r in runs["run"].records] == [0, 1, 2]
