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
        ("train", 100, 100), ("train", 101, 101), ("eval", 30, 0),
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
