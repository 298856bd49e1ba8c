"""Model hooks on real torch models inside a real writer: forward/backward attribution and clean removal."""
from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import constant_writer

WATTS = 200.0  # known power: energy = WATTS x time exactly, so energy attribution can be checked


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1))


def _train(model: nn.Module, steps: int, other_s: float) -> tuple[float, float]:
    """``steps`` training steps; returns the measured seconds in ``model(x)`` and in ``backward()``."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(32, 64), torch.randn(32, 1)
    fwd = bwd = 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        out = model(x)
        t1 = time.perf_counter()
        loss = nn.functional.mse_loss(out, y)
        opt.zero_grad()
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        time.sleep(other_s)  # time in the stage outside the model: must land in "other"
        fwd, bwd = fwd + t1 - t0, bwd + t3 - t2
    return fwd, bwd


def _no_hooks(m: nn.Module) -> bool:
    return not any(
        mod._forward_hooks or mod._forward_pre_hooks or mod._backward_hooks or mod._backward_pre_hooks
        for mod in m.modules()
    )


def test_forward_backward_other_sum_to_stage_total(tmp_path: Path) -> None:
    model = _mlp()
    _train(model, 2, other_s=0.0)  # warm up: the first optimizer step imports lazily, which is "other" time
    with constant_writer(tmp_path / "run", {"cpu:0": WATTS}) as w:
        hooks = w.watch_model(model, "train", count_steps=True)
        with w.stage("train"):
            t0 = time.perf_counter()
            fwd_s, bwd_s = _train(model, 10, other_s=0.01)
            outside_s = time.perf_counter() - t0 - fwd_s - bwd_s  # measured: sleeps, loss, optimizer
        rec = w.totals()
        tot = hooks.totals("train")
        hooks.remove()
    stage_s = rec.stages["train"].duration_s
    stage_j = rec.stages["train"].energy_kwh * 3.6e6
    other_s = stage_s - tot.forward_s - tot.backward_s
    assert tot.steps == 10
    assert tot.forward_s > 0 and tot.backward_s > 0
    assert 10 * 0.01 <= other_s < stage_s, "sleeps are outside forward and backward"
    # the hooks' forward/backward lie inside the measured model(x) / backward() calls, "other" covers the rest
    # (measured times, not the nominal sleeps: this holds however slowly a loaded machine runs)
    assert tot.forward_s <= fwd_s + 1e-4 and tot.backward_s <= bwd_s + 1e-4
    assert other_s >= outside_s - 1e-4
    # energy attribution uses the same meter: forward + backward + other == stage, each = WATTS x its time
    # (a meter read takes its timestamp a few microseconds before the source reads its clock; under load the
    # thread can be descheduled in between, so allow 200 us of clock skew in all, tiny against the 100 ms of sleeps)
    skew_j = WATTS * 2e-4
    assert tot.forward_j == pytest.approx(WATTS * tot.forward_s, rel=1e-3, abs=skew_j)
    assert tot.backward_j == pytest.approx(WATTS * tot.backward_s, rel=1e-3, abs=skew_j)
    other_j = stage_j - tot.forward_j - tot.backward_j
    assert other_j == pytest.approx(WATTS * other_s, rel=1e-3, abs=skew_j)


def test_watched_values_in_csv_and_removal_leaves_no_hooks(tmp_path: Path) -> None:
    model = _mlp()
    with constant_writer(tmp_path / "run", {"cpu:0": WATTS}) as w:
        hooks = w.watch_model(model, "train")
        for _ in range(3):
            with w.stage("train"):
                _train(model, 3, other_s=0.0)
            with w.stage("eval"), torch.no_grad():
                model.eval()(torch.randn(8, 64))  # another stage: not attributed to train
                model.train()
        assert not _no_hooks(model)
        hooks.remove()
        hooks.remove()  # idempotent
        assert _no_hooks(model), "every hook is gone"
        with w.stage("train"):
            _train(model, 2, other_s=0.0)
    with open(tmp_path / "run" / "green.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    train = [r for r in rows if r["stage"] == "train"]
    fwd = [float(r["watch:train.forward_s"]) for r in train[:3]]
    assert fwd == sorted(fwd) and fwd[0] > 0, "cumulative within the stage"
    kwh = float(train[2]["watch:train.backward_kwh"])
    assert kwh * 3.6e6 == pytest.approx(WATTS * float(train[2]["watch:train.backward_s"]), rel=1e-3)
    assert train[-1]["watch:train.forward_s"] == "", "no value after removal"


def test_stage_none_attributes_to_every_open_stage_and_nested_calls_once(tmp_path: Path) -> None:
    inner = _mlp()

    class Twice(nn.Module):  # calls the watched module twice per forward: counted as one pass each
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return inner(x) + inner(x)

    with constant_writer(tmp_path / "run", {"cpu:0": WATTS}) as w:
        hooks = w.watch_model(inner, count_steps=True)
        with w.stage("epoch"), w.stage("train"):
            x = torch.randn(4, 64)
            Twice()(x).sum().backward()
        a, b = hooks.totals("epoch"), hooks.totals("train")
        assert a == b and a.steps == 2 and a.backward_s > 0
        inner(x)  # outside any stage: not counted
        assert hooks.totals("train").steps == 2
        hooks.remove()


def test_compiled_module(tmp_path: Path) -> None:
    model = torch.compile(_mlp(), backend="aot_eager")
    with constant_writer(tmp_path / "run", {"cpu:0": WATTS}) as w:
        hooks = w.watch_model(model, "train", count_steps=True)
        with w.stage("train"):
            _train(model, 3, other_s=0.0)
        tot = hooks.totals("train")
        hooks.remove()
    assert tot.steps == 3 and tot.forward_s > 0 and tot.backward_s > 0
    assert _no_hooks(model) and _no_hooks(model._orig_mod)


def test_ddp_wrapped_module_hooks_inner(tmp_path: Path) -> None:
    import torch.distributed as dist

    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        inner = _mlp()
        ddp = nn.parallel.DistributedDataParallel(inner)
        with constant_writer(tmp_path / "run", {"cpu:0": WATTS}) as w:
            hooks = w.watch_model(ddp, "train", count_steps=True)
            assert hooks.module is inner
            with w.stage("train"):
                _train(ddp, 3, other_s=0.0)
            tot = hooks.totals("train")
            hooks.remove()
        assert tot.steps == 3 and tot.backward_s > 0
        assert _no_hooks(inner)
    finally:
        dist.destroy_process_group()


def test_not_a_module_is_a_clear_error(tmp_path: Path) -> None:
    with constant_writer(tmp_path / "run", {"cpu:0": WATTS}) as w, pytest.raises(TypeError, match="torch.nn.Module"):
        w.watch_model(lambda x: x)  # type: ignore[arg-type]


def test_hook_time_and_energy_come_from_one_instant(tmp_path: Path) -> None:
    """Each pass boundary is one meter reading whose time and joules describe the same instant: with a
    constant power, energy == WATTS x time to rounding (not just to the gap between two clock reads)."""
    model = _mlp()
    with constant_writer(tmp_path / "run", {"cpu:0": WATTS}) as w:
        hooks = w.watch_model(model, "train")
        with w.stage("train"):
            _train(model, 5, other_s=0.0)
        tot = hooks.totals("train")
        hooks.remove()
    assert tot.forward_s > 0 and tot.backward_s > 0
    assert tot.forward_j == pytest.approx(WATTS * tot.forward_s, rel=1e-9)
    assert tot.backward_j == pytest.approx(WATTS * tot.backward_s, rel=1e-9)
