"""Device context (GPU utilisation and memory) from the stand-in NVML module through the meter into records."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import pytest
from tensorboard import context as tb_context

from fakes.fake_nvml import FakeGpu, make_fake_nvml, max_gap, wait_until
from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.base import Meter, context_between
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.meters.nvml import nvml_sources
from greenops_tb.readers.csv import read_records, read_rows
from greenops_tb.readers.events import local_provider, read_runs
from greenops_tb.format.schema import DeviceEnergy

GB = 12 * 2**30 / 1e9  # the stand-in's used memory, in GB


def _install(monkeypatch: pytest.MonkeyPatch, *gpus: FakeGpu):
    mod = make_fake_nvml(list(gpus))
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    return mod


def test_utilisation_is_the_mean_over_the_interval_memory_the_last_value(monkeypatch: pytest.MonkeyPatch) -> None:
    step_at = [math.inf]
    gpu = FakeGpu("GPU-ctx-1", utilization=lambda t: 20 if t < step_at[0] else 80)
    mod = _install(monkeypatch, gpu)
    meter = Meter(nvml_sources(env={}))
    try:
        wait_until(lambda: len(gpu.util_log) > 0)
        ta = mod.elapsed()
        a = meter.read()
        step_at[0] = ta + 0.4
        time.sleep(0.8)
        gpu.memory_used = 30 * 2**30
        n = len(gpu.util_log)
        wait_until(lambda: len(gpu.util_log) >= n + 2)  # a whole sample after the change sees the new memory use
        tb = mod.elapsed()
        b = meter.read()
    finally:
        meter.close()
    (ctx,) = context_between(a, b)
    span = tb - ta  # measured, not the nominal sleeps
    truth = (20 * 0.4 + 80 * (span - 0.4)) / span
    # sampling can misplace the 20 -> 80 step by at most the longest measured gap between samples
    tolerance = 60 * max_gap(gpu.util_log, ta, tb) / span + 1
    assert ctx["util_pct"] == pytest.approx(truth, abs=tolerance), "a mean, not the last (80) or first (20) sample"
    assert 20 < ctx["util_pct"] < 80
    assert ctx["mem_used_gb"] == 30 * 2**30 / 1e9
    assert set(ctx) == {"util_pct", "mem_used_gb"}


def test_sources_without_context_cost_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    meter = Meter([ConstantPowerSource({"cpu:0": 50.0})])
    assert meter.read().context is None and context_between(meter.read(), meter.read()) is None
    _install(monkeypatch, FakeGpu("GPU-ctx-2", utilization=None, memory_used=None))
    (src,) = nvml_sources(env={})
    assert src.sample_interval is None, "nothing to sample: the counter GPU stays off the sampler"
    meter = Meter([src])
    try:
        assert meter._sampler is None
        assert context_between(meter.read(), meter.read()) == ({},)
    finally:
        meter.close()


def test_context_survives_a_fallback_from_counter_to_sampled_power(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = FakeGpu("GPU-ctx-3", utilization=64)
    _install(monkeypatch, gpu)
    meter = Meter(nvml_sources(env={}))
    try:
        a = meter.read()
        time.sleep(0.2)
        gpu.energy_counter = False  # the counter stops working; power still does
        with pytest.warns(RuntimeWarning, match="nvml-energy"):
            meter.read()
        time.sleep(0.2)
        b = meter.read()
        assert meter.provenance()[0].startswith("nvml-power-sampled (fallback: nvml-energy failed")
    finally:
        meter.close()
    (ctx,) = context_between(a, b)
    assert ctx == {"util_pct": pytest.approx(64.0, abs=0.5), "mem_used_gb": GB}


def test_writer_csv_and_events_carry_gpu_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = FakeGpu("GPU-ctx-4", name="NVIDIA A100-SXM4-40GB", utilization=87)
    _install(monkeypatch, gpu)
    logdir = tmp_path / "logs"
    with GreenSummaryWriter(str(logdir / "run"), country="DE", sysfs_root=str(tmp_path / "no-powercap")) as w:
        n = len(gpu.util_log)
        wait_until(lambda: len(gpu.util_log) > n)  # the sampler has a value before the stage opens
        with w.stage("train"):
            n = len(gpu.util_log)
            wait_until(lambda: len(gpu.util_log) >= n + 2)  # samples inside the stage, however loaded the machine
    expected = {"util_pct": pytest.approx(87.0, abs=0.5), "mem_used_gb": GB}
    (row,) = read_rows(logdir / "run" / "green.csv")
    devices = json.loads(row["devices_json"])
    assert devices["gpu:0"]["context"] == expected and "context" not in devices["cpu:0"]
    (from_csv,) = read_records(logdir / "run" / "green.csv")
    (from_events,) = read_runs(local_provider(str(logdir)), tb_context.RequestContext(), "")["run"].records
    for rec in (from_csv, from_events):
        assert rec.devices["gpu:0"].context == expected and rec.devices["gpu:0"].provenance == "nvml-energy"
        assert rec.devices["cpu:0"].context == {}


def test_device_json_without_context_still_loads() -> None:
    old = {"kind": "gpu", "energy_kwh": 1e-6, "provenance": "nvml-energy"}  # written before context existed
    dev = DeviceEnergy.from_json(old)
    assert dev.context == {} and dev.to_json() == old
    new = DeviceEnergy("gpu", 2e-6, "nvml-energy", {"util_pct": 55.5, "mem_used_gb": 3.0})
    assert DeviceEnergy.from_json(json.loads(json.dumps(new.to_json()))) == new
