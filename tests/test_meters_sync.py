"""Stage boundaries wait for queued accelerator work: CUDA, ROCm (torch.cuda under HIP) and MPS."""
from __future__ import annotations

import pytest
import torch

from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.writer import GreenSummaryWriter


def _fake_cuda(monkeypatch, hip: str | None = None) -> list[str]:
    """CUDA faked at the boundary torch exposes: initialised, ``synchronize`` recorded."""
    calls: list[str] = []
    monkeypatch.setattr(torch.version, "hip", hip, raising=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("cuda"))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    return calls


@pytest.mark.parametrize("hip", [None, "6.2.41133"], ids=["cuda", "rocm"])
def test_cuda_or_rocm_synchronised_at_stage_start_and_stop(monkeypatch, tmp_path, hip) -> None:
    calls = _fake_cuda(monkeypatch, hip)
    w = GreenSummaryWriter(str(tmp_path), meters=[ConstantPowerSource({"gpu:0": 50.0})], country="DE")
    w.start("train")
    assert calls == ["cuda"]
    for _ in range(5):
        w.update("train")
    assert calls == ["cuda"], "update() every step must not serialise CPU and GPU by default"
    w.stop("train")
    w.close()
    assert calls == ["cuda"] * 2, "ROCm builds of torch run HIP under torch.cuda: the same call syncs them"


@pytest.mark.parametrize("sync, per_run", [("steps", 7), (False, 0)])
def test_sync_cuda_steps_also_synchronises_every_update_and_false_never(monkeypatch, tmp_path, sync, per_run) -> None:
    calls = _fake_cuda(monkeypatch)
    w = GreenSummaryWriter(str(tmp_path), meters=[ConstantPowerSource({"gpu:0": 50.0})], country="DE",
                           sync_cuda=sync)
    w.start("train")
    for _ in range(5):
        w.update("train")
    w.stop("train")
    w.close()
    assert calls == ["cuda"] * per_run


def test_sync_cuda_refuses_other_values(tmp_path) -> None:
    with pytest.raises(ValueError, match="sync_cuda must be True"):
        GreenSummaryWriter(str(tmp_path / "run"), meters=[ConstantPowerSource({"gpu:0": 50.0})], country="DE",
                           sync_cuda="step")


def test_cpu_only_process_never_synchronises(monkeypatch, tmp_path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("cuda"))
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append("mps"))
    with GreenSummaryWriter(str(tmp_path), meters=[ConstantPowerSource({"cpu:0": 50.0})], country="DE") as w:
        with w.stage("train"):
            pass
    assert calls == []
