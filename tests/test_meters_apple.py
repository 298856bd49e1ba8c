"""Apple silicon through a stand-in with zeus-apple-silicon's API; MPS synchronisation at stage boundaries."""
from __future__ import annotations

import sys
import time
import warnings

import pytest
import torch

from fakes.fake_apple import FakeSoc, make_fake_apple
from fakes.fake_nvml import window
from greenops_tb.meters.apple import AppleSiliconSource, apple_sources
from greenops_tb.meters.base import Meter
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.meters.select import default_sources
from greenops_tb.writer import GreenSummaryWriter


@pytest.fixture
def soc(monkeypatch: pytest.MonkeyPatch) -> FakeSoc:
    s = FakeSoc()
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", make_fake_apple(s))
    return s


def test_cpu_gpu_ane_and_unified_memory_per_interval(soc: FakeSoc) -> None:
    created = time.perf_counter()
    (src,) = apple_sources()
    assert isinstance(src, AppleSiliconSource) and src.scope == "host"
    assert [(d.id, d.kind) for d in src.devices] == [("cpu:0", "cpu"), ("gpu:0", "gpu"), ("gpu:ane", "gpu"),
                                                      ("ram", "ram")]
    mod = sys.modules["zeus_apple_silicon"]
    ta, tb, a, b = window(mod, Meter([src]), 0.4)
    got = [jb - ja for ja, jb in zip(a.joules, b.joules)]
    dt = tb - ta
    # cumulative mJ -> J: 12 W CPU, 18 + 0.5 W GPU and its SRAM, 2 W ANE, 1.5 W DRAM
    for j, watts in zip(got, (12.0, 18.5, 2.0, 1.5)):
        assert j == pytest.approx(watts * dt, rel=0.03, abs=0.002)
    # the counters start at 7000 J: energy is counted from the source's start, not from their arbitrary origin
    assert a.joules[0] <= 12.0 * (time.perf_counter() - created) + 0.01


def test_default_sources_on_apple_silicon_are_the_soc_only(soc: FakeSoc, tmp_path) -> None:
    sources = default_sources(sysfs_root=str(tmp_path))
    try:
        prov = {d.id: p for s in sources for d, p in zip(s.devices, s.provenance())}
    finally:
        for s in sources:
            s.close()
    assert prov == {"cpu:0": "apple-ioreport", "gpu:0": "apple-ioreport", "gpu:ane": "apple-ioreport",
                    "ram": "apple-ioreport"}, "unified memory counted once: no RSS model on top of DRAM"


def test_chip_without_ane_counter_reports_what_it_has(monkeypatch) -> None:
    s = FakeSoc(watts={"cpu_total_mj": 5.0, "gpu_mj": 7.0})
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", make_fake_apple(s))
    (src,) = apple_sources()
    assert [d.id for d in src.devices] == ["cpu:0", "gpu:0"]
    src.close()


def test_not_apple_silicon_or_binding_missing_gives_nothing(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", None)
    assert apple_sources() == []
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", make_fake_apple(FakeSoc(init_error="not Apple silicon")))
    assert apple_sources() == []


def test_lost_counters_continue_at_average_power_with_one_warning(soc: FakeSoc) -> None:
    (src,) = apple_sources()
    meter = Meter([src])
    try:
        a = meter.read()
        time.sleep(1.1)
        meter.read()
        soc.fail_after_s = 0.0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            b = meter.read()
            time.sleep(0.2)
            c = meter.read()
        prov = meter.provenance()
    finally:
        meter.close()
    assert len([w for w in caught if "apple-ioreport" in str(w.message)]) == 1
    assert all(p.startswith("model-soc-avg (fallback: apple-ioreport failed") for p in prov)
    assert c.joules[0] - b.joules[0] == pytest.approx(12.0 * (c.t_mono - b.t_mono), rel=0.1)
    assert all(x <= y for x, y in zip(a.joules, c.joules))


def test_mps_synchronised_at_stage_boundaries_when_in_use(monkeypatch, tmp_path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.mps, "current_allocated_memory", lambda: 64 * 2**20)
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append("mps"))
    with GreenSummaryWriter(str(tmp_path), meters=[ConstantPowerSource({"gpu:0": 20.0})], country="DE") as w:
        w.start("train")
        w.update("train")  # per step only with sync_cuda="steps"
        w.stop("train")
        assert calls == ["mps"] * 2
    with GreenSummaryWriter(str(tmp_path / "steps"), meters=[ConstantPowerSource({"gpu:0": 20.0})], country="DE",
                            sync_cuda="steps") as w:
        w.start("train")
        w.update("train")
        w.stop("train")
    assert calls == ["mps"] * 5
    w2 = GreenSummaryWriter(str(tmp_path / "nosync"), meters=[ConstantPowerSource({"gpu:0": 20.0})], country="DE",
                            sync_cuda=False)
    w2.start("train")
    w2.stop("train")
    w2.close()
    assert calls == ["mps"] * 5, "sync_cuda=False never synchronises"
