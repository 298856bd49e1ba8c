"""Stage boundaries wait for queued accelerator work: CUDA, ROCm (torch.cuda under HIP) and MPS."""
from __future__ import annotations

import pytest
import torch

from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.writer import GreenSummaryWriter


@pytest.mark.parametrize("hip", [None, "6.2.41133"], ids=["cuda", "rocm"])
def test_cuda_or_rocm_synchronised_at_every_boundary(monkeypatch, tmp_path, hip) -> None:
    calls: list[str] = []
    monkeypatch.setattr(torch.version, "hip", hip, raising=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("cuda"))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    w = GreenSummaryWriter(str(tmp_path), meters=[ConstantPowerSource({"gpu:0": 50.0})], country="DE")
    w.start("train")
    w.update("train")
    w.stop("train")
    w.close()
    assert calls == ["cuda"] * 3, "ROCm builds of torch run HIP under torch.cuda: the same call syncs them"


def test_cpu_only_process_never_synchronises(monkeypatch, tmp_path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("cuda"))
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append("mps"))
    with GreenSummaryWriter(str(tmp_path), meters=[ConstantPowerSource({"cpu:0": 50.0})], country="DE") as w:
        with w.stage("train"):
            pass
    assert calls == []
