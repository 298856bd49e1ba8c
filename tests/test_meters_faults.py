"""Fault injection at the hardware boundary: impossible counter values never reach a record.

One table per stand-in (NVML module, powercap tree): reset, wrap, huge jump, negative, garbage,
unreadable, each injected mid-run under a real training loop through GreenSummaryWriter. Every case:
training goes on, ONE warning, no row draws more than the device's bound, the provenance of the
affected record names what was used instead.
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import pytest
import torch

from fakes.fake_nvml import NVML_ERROR_GPU_IS_LOST, FakeGpu, NVMLError, constant, make_fake_nvml
from fakes.powercap import FakePowercap, Zone, make_unreadable
from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.counter import Counter, CounterGlitching
from greenops_tb.meters.model import ModelCpuSource
from greenops_tb.meters.nvml import nvml_sources
from greenops_tb.meters.rapl import rapl_sources
from greenops_tb.readers.csv import read_records

GPU_W, LIMIT_W = 250.0, 400.0
GPU_BOUND_W = 1.5 * LIMIT_W  # what a 400 W board can plausibly draw
ZONE_W = 60.0
ZONE_BOUND_W = 1000.0  # a zone with no constraint_0 files: the default per-zone bound


def _train(log_dir: Path, meters, inject: Callable[[], object], steps: int = 30, at: int = 12):
    """A tiny MLP trained ``steps`` updates; ``inject()`` runs before update ``at`` (and its result is
    a context manager the update runs inside). Returns (records, greenops warnings)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(64, 8), torch.randn(64, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with GreenSummaryWriter(str(log_dir), meters=meters, country="DE", csv_path=str(log_dir / "g.csv")) as w:
            w.start("train")
            for step in range(steps):
                loss = torch.nn.functional.mse_loss(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                time.sleep(0.01)
                if step == at:
                    with inject():
                        w.update("train")
                else:
                    w.update("train")
    ours = [str(c.message) for c in caught if "greenops_tb" in str(c.message)]
    return read_records(log_dir / "g.csv"), ours


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def _once(gpu: FakeGpu, fault: Callable[[int], object]):
    """Apply ``fault`` to the next counter read only."""
    def hook(value: int) -> object:
        gpu.counter_fault = None
        return fault(value)
    gpu.counter_fault = hook
    return _Nothing()


def _raise(value: int) -> object:
    raise NVMLError(NVML_ERROR_GPU_IS_LOST)


def _persist(gpu: FakeGpu, fault: Callable[[int], object]):
    gpu.counter_fault = fault
    return _Nothing()


NVML_CASES = {
    # name: (inject(mod, gpu) -> context, expected label of the record read at the fault, warns)
    "reset": (lambda mod, gpu: (mod.reset_counter(0), _Nothing())[1], "nvml-energy (glitch: reset)", 1),
    "wrap": (None, "nvml-energy", 0),  # the counter passes 2**64 mid-run: a plausible wraparound
    "huge jump": (lambda mod, gpu: _once(gpu, lambda v: v + 10**15), "nvml-energy (glitch: jump)", 1),
    "negative": (lambda mod, gpu: _once(gpu, lambda v: -7), "nvml-energy (glitch: negative)", 1),
    "garbage": (lambda mod, gpu: _persist(gpu, lambda v: "N/A"),
                "nvml-power-sampled (fallback: nvml-energy failed: ValueError: counter value 'N/A' is not a number)",
                1),
    "unreadable": (lambda mod, gpu: _persist(gpu, _raise),
                   "nvml-power-sampled (fallback: nvml-energy failed: NVMLError: NVML error 15)", 1),
}


@pytest.mark.parametrize("case", list(NVML_CASES))
def test_nvml_counter_faults(case, tmp_path, monkeypatch):
    inject, label, warns = NVML_CASES[case]
    gpu = FakeGpu("GPU-faults", profile=constant(GPU_W), power_limit_w=LIMIT_W)
    if case == "wrap":  # 250 W = 250 mJ per ms: the unsigned 64-bit counter wraps ~0.2 s into the run
        gpu.counter_offset_mj = 2**64 - 10**9 - 50_000
    mod = make_fake_nvml([gpu])
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    (src,) = nvml_sources(env={})
    t0 = time.perf_counter()
    recs, warned = _train(tmp_path, [src], (lambda: inject(mod, gpu)) if inject else _Nothing)
    elapsed = time.perf_counter() - t0
    assert len(recs) == 31, "training went on: every update and the closing stop were recorded"
    assert len(warned) == warns, warned
    for r in recs:  # no record draws more than the board can
        assert r.devices["gpu:0"].energy_kwh * 3.6e6 <= GPU_BOUND_W * r.duration_s + 1e-9, (r.seq, r.avg_power_w)
    labels = [r.devices["gpu:0"].provenance for r in recs]
    assert labels[12] == label, labels
    assert all(p == "nvml-energy" for p in labels[:12])
    # after the fault the GPU is still measured at its real 250 W (a reset no longer pins it to 0 W)
    late = recs[20:]
    assert sum(r.energy_kwh for r in late) * 3.6e6 == pytest.approx(GPU_W * sum(r.duration_s for r in late),
                                                                    rel=0.02)
    total_j = sum(r.energy_kwh for r in recs) * 3.6e6
    assert total_j <= GPU_W * elapsed * 1.02  # nothing counted twice, no fault added energy


def _rapl(tmp_path: Path, **zone_kw) -> tuple[FakePowercap, Zone]:
    zone = Zone("intel-rapl:0", "package-0", ZONE_W, **zone_kw)
    return FakePowercap(tmp_path / "powercap", [zone]), zone


class _Held:
    """Pause the counters and put ``text`` in the zone's file for the one read inside."""

    def __init__(self, cap: FakePowercap, zone: Zone, text: Callable[[int], str], primed=None):
        self.cap, self.zone, self.text, self.primed = cap, zone, text, primed

    def __enter__(self):
        self._held = self.cap.held()
        self._held.__enter__()
        if self.primed is not None:  # the source has read the value now in the file
            self.primed.sample()
        current = int((self.zone.path / "energy_uj").read_text())
        self.cap.write_now(self.zone, self.text(current))
        return self

    def __exit__(self, *exc):
        self._held.__exit__(*exc)
        self.cap.forget_gaps()


def _set_fault(cap: FakePowercap, zone: Zone, fault: Callable[[int], str] | None):
    """From now on the zone's file holds ``fault(uj)`` (None: a counter that starts over from 0 now)."""
    if fault is None:
        base = int((zone.path / "energy_uj").read_text())
        fault = lambda uj: str(max(0, uj - base))  # noqa: E731
    t = time.perf_counter()
    zone.fault = fault
    while cap.last_write <= t:  # the counter thread has written a faulty value
        time.sleep(0.001)
    return _Nothing()


RAPL_CASES = {
    "reset (RAPL re-init)": (lambda cap, z, src: _set_fault(cap, z, None), "rapl (glitch: reset)"),
    "1 mJ lower is a reset, not a 262 kJ wrap": (lambda cap, z, src: _Held(cap, z, lambda uj: str(uj - 1000), src),
                                                 "rapl (glitch: reset)"),
    "wrap": (None, "rapl"),
    "huge jump": (lambda cap, z, src: _Held(cap, z, lambda uj: str(uj + 10**15)), "rapl (glitch: jump)"),
    "negative": (lambda cap, z, src: _Held(cap, z, lambda uj: "-42"), "rapl (glitch: negative)"),
    "garbage": (lambda cap, z, src: _set_fault(cap, z, lambda uj: "unavailable"),
                "model-tdp-default (fallback: rapl failed: ValueError: counter value 'unavailable' is not a number)"),
    "unreadable": (lambda cap, z, src: (make_unreadable(src._fds[0], cap.root), _Nothing())[1],
                   "model-tdp-default (fallback: rapl failed: IsADirectoryError"),
}


@pytest.mark.parametrize("case", list(RAPL_CASES))
def test_rapl_counter_faults(case, tmp_path):
    inject, label = RAPL_CASES[case]
    kw = {"max_range_uj": 262_143_328_850}
    if case == "wrap":  # 60 W: wraps about 0.15 s into the run
        kw["start_uj"] = kw["max_range_uj"] - 9_000_000
    cap, zone = _rapl(tmp_path, **kw)
    with cap:
        (src,) = [s for s in rapl_sources(cap.root, cpu_model=ModelCpuSource) if s.devices[0].id == "cpu:0"]
        recs, warned = _train(tmp_path, [src], (lambda: inject(cap, zone, src)) if inject else _Nothing)
    assert len(recs) == 31
    assert len(warned) == (0 if case == "wrap" else 1), warned
    for r in recs:
        assert r.devices["cpu:0"].energy_kwh * 3.6e6 <= ZONE_BOUND_W * r.duration_s + 1e-9, (r.seq, r.avg_power_w)
    labels = [r.devices["cpu:0"].provenance for r in recs]
    assert labels[12].startswith(label), labels
    assert all(p == "rapl" for p in labels[:12])
    if not label.startswith("model"):
        late = recs[16:]
        # the fake's files lag the instant they are read by up to its longest gap between writes (a loaded machine
        # runs its ticker late), and a read may wait for the GIL after the meter stamps the instant
        slack_j = ZONE_W * (cap.max_gap + sys.getswitchinterval())
        assert sum(r.energy_kwh for r in late) * 3.6e6 == pytest.approx(
            ZONE_W * sum(r.duration_s for r in late), rel=0.03, abs=slack_j)
        assert labels[-1] == "rapl", "the label says glitch only where it happened"


def test_a_counter_that_keeps_glitching_degrades_like_a_failing_one(tmp_path, monkeypatch):
    gpu = FakeGpu("GPU-glitchy", profile=constant(GPU_W), power_limit_w=LIMIT_W)
    mod = make_fake_nvml([gpu])
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    (src,) = nvml_sources(env={})
    recs, warned = _train(tmp_path, [src], lambda: _persist(gpu, lambda v: v + 10**15))
    labels = [r.devices["gpu:0"].provenance for r in recs]
    assert labels[12] == "nvml-energy (glitch: jump)" and labels[13] == "nvml-energy (glitch: jump)"
    assert labels[14].startswith("nvml-power-sampled (fallback: nvml-energy (glitch: jump) failed: CounterGlitching:")
    assert len(warned) == 2 and "jumped by more than the device can draw (600 W)" in warned[0]
    assert "continuing with nvml-power-sampled" in warned[1]
    assert all(r.avg_power_w <= GPU_BOUND_W for r in recs)


def test_counter_arithmetic_by_hand():
    """The rules on numbers worked out by hand: 100 W bound, 1 J per unit, counter range 1000."""
    c = Counter("c", 990, 0.0, joules_per_unit=1.0, max_power_w=100.0, wrap_at=1000)
    assert c.advance(995, 0.1, lambda: 0.0) == 5  # plausible: 50 W
    assert c.advance(3, 0.2, lambda: 0.0) == 8  # wrapped: 1000 - 995 + 3, 80 W
    assert c.advance(2, 0.3, lambda: 40.0) == pytest.approx(4.0) and c.label == "glitch: reset"  # 997 J in 0.1 s
    assert c.advance(5, 0.4, lambda: 0.0) == 3 and c.label == "glitch: reset"  # label kept until a record shows it
    c.shown()
    assert c.advance(10**6, 0.5, lambda: 20.0) == pytest.approx(2.0) and c.label == "glitch: jump"
    # the baseline (5 at 0.4 s) was kept; 2 J estimated are credited against the next real delta: 15 - 2
    assert c.advance(20, 0.6, lambda: 0.0) == pytest.approx(13.0)
    assert c.joules == pytest.approx(5 + 8 + 4 + 3 + 2 + 13)
    with pytest.raises(CounterGlitching):
        c.advance(-1, 0.7, lambda: 0.0)  # the third glitch within the window
