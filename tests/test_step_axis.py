"""The records' step axis (issue 13 item 3): the user's global_step by default, each stage's own count in
``stage_step``; watched values registered for a stage only under it."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import constant_writer


def _steps(path: Path) -> list[tuple[str, int, int]]:
    with open(path / "green.csv", newline="") as f:
        return [(r["stage"], int(r["step"]), int(r["stage_step"])) for r in csv.DictReader(f)]


def test_records_follow_the_users_global_step_and_keep_the_stage_count(tmp_path: Path) -> None:
    with constant_writer(tmp_path / "run") as w:
        w.start("train")
        w.update("train")  # before any user step: the stage's own count
        for gs in (10, 20, 30):
            w.add_scalar("loss", 1.0, gs)
            w.update("train")
        w.add_scalar("rare", 1.0, 5)  # a lower step never moves the axis back
        w.update("train")
        w.update("train", step=100)  # explicit step= wins
        w.stop("train")
        with w.stage("eval"):
            pass
    assert _steps(tmp_path / "run") == [
        ("train", 0, 0), ("train", 10, 1), ("train", 20, 2), ("train", 30, 3), ("train", 31, 4),
        ("train", 100, 100), ("eval", 30, 0),  # the stop() right after update(step=100) extends its record
    ]


def test_stage_axis_keeps_each_stages_count(tmp_path: Path) -> None:
    with constant_writer(tmp_path / "run", step_axis="stage") as w:
        with w.stage("train"):
            w.add_scalar("loss", 1.0, 50)
            w.update("train")
        with w.stage("eval"):
            pass
    assert _steps(tmp_path / "run") == [("train", 0, 0), ("train", 1, 1), ("eval", 0, 0)]
    with pytest.raises(ValueError, match="step_axis"):
        constant_writer(tmp_path / "bad", step_axis="global")


def test_watched_value_of_a_stage_is_recorded_only_with_it(tmp_path: Path) -> None:
    with constant_writer(tmp_path / "run", watch={"loss": 0.5}) as w:
        w.watch("train.tokens", 7.0, stage="train")
        with w.stage("train"):
            w.update("train")
        with w.stage("eval"):
            pass
    with open(tmp_path / "run" / "green.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["stage"]: r["watch:train.tokens"] for r in rows} == {"train": "7.0", "eval": ""}
    assert all(r["watch:loss"] == "0.5" for r in rows)


def test_an_epoch_loop_of_explicit_steps_never_repeats_a_step(tmp_path: Path) -> None:
    """The quickstart's loop: update(step=) per batch inside ``with stage()`` per epoch. Each epoch's stop()
    extends its last step's record instead of taking the next epoch's first step, so TensorBoard keeps every
    record: the event files, export and the CSV agree (issue 24 item 3)."""
    from greenops_tb.readers.csv import read_records
    from greenops_tb.readers.events import file_records
    from greenops_tb.readers.runs import event_files

    step, epochs, batches = 0, 4, 5
    with constant_writer(tmp_path / "run") as w:
        for epoch in range(epochs):
            with w.stage("train", epoch=epoch):
                for _ in range(batches):
                    w.add_scalar("loss", 1.0, step)
                    w.update("train", step=step, samples=8)
                    step += 1
            with w.stage("eval", step=step):
                pass
    rows = _steps(tmp_path / "run")
    train = [s for stage, s, _ in rows if stage == "train"]
    assert train == list(range(epochs * batches)), "one record per step, none repeated, none skipped"
    csv_recs = read_records(tmp_path / "run" / "green.csv")
    events, malformed = file_records(event_files(tmp_path / "run"))
    assert malformed == 0 and len(events) == len(csv_recs)
    assert csv_recs[-1].run_energy_kwh == pytest.approx(sum(r.energy_kwh for r in csv_recs), rel=1e-12)
    assert sum(r.samples for r in csv_recs) == epochs * batches * 8
