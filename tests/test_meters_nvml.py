"""NVML sources against a stand-in module with NVML's API, injected where ``import pynvml`` happens."""
from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Callable

import pytest

from fakes.fake_nvml import (FakeGpu, constant, integral_of_answers, make_fake_nvml, max_gap, sine, wait_until,
                             window)
from greenops_tb.meters.base import Meter
from greenops_tb.meters.nvml import MEM_KEY, UTIL_KEY, NvmlEnergySource, NvmlPowerSource, nvml_sources


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Callable:
    def _install(gpus: list[FakeGpu], **kw):
        mod = make_fake_nvml(gpus, **kw)
        monkeypatch.setitem(sys.modules, "pynvml", mod)
        return mod

    return _install


def _truth(mod, gpu: FakeGpu, ta: float, tb: float) -> float:
    return gpu.profile.energy(tb) - gpu.profile.energy(ta)


def test_energy_counter_gpu_reads_counter(install) -> None:
    gpu = FakeGpu("GPU-11111111-aaaa", profile=constant(250.0))
    mod = install([gpu])
    (src,) = nvml_sources(env={})
    assert isinstance(src, NvmlEnergySource) and src.devices[0].id == "gpu:0" and src.devices[0].kind == "gpu"
    ta0 = mod.elapsed()
    a = src.read()[0]
    ta1 = mod.elapsed()
    time.sleep(0.2)
    tb0 = mod.elapsed()
    b = src.read()[0]
    tb1 = mod.elapsed()
    assert 250.0 * (tb0 - ta1) - 1e-3 <= b - a <= 250.0 * (tb1 - ta0) + 1e-3
    assert src.provenance() == ["nvml-energy"]
    (ctx,) = src.context()
    assert ctx[MEM_KEY] == 12 * 2**30 / 1e9 and ctx[UTIL_KEY] > 0, "utilisation integral and used memory"
    assert src.sample_interval, "the sampler reads the activity of a counter GPU (never the boundary)"
    src.close()
    assert mod.init_count == 0, "closing the last source shuts NVML down"


def test_short_window_between_counter_refreshes_is_power_times_time(install) -> None:
    gpu = FakeGpu("GPU-22222222-bbbb", profile=constant(300.0), counter_period_s=0.25)
    mod = install([gpu])
    (src,) = nvml_sources(env={})
    a = src.read()[0]
    t = time.perf_counter()
    while time.perf_counter() - t < 0.02:
        pass
    b = src.read()[0]
    assert b - a == pytest.approx(300.0 * (time.perf_counter() - t), rel=0.5), "never zero between refreshes"
    assert b - a > 0 and src.provenance() == ["nvml-energy+power-interp"]
    # over many boundaries the counter takes over again: error stays within one refresh period
    ta = mod.elapsed()
    start = src.read()[0]
    values = [start]
    for _ in range(14):
        time.sleep(0.07)
        values.append(src.read()[0])
    tb = mod.elapsed()
    assert values == sorted(values), "cumulative energy never decreases"
    assert values[-1] - start == pytest.approx(300.0 * (tb - ta), abs=300.0 * 0.25)
    src.close()


def test_power_only_gpu_integrates_known_profile_within_one_percent(install) -> None:
    gpu = FakeGpu("GPU-33333333-cccc", energy_counter=False, profile=sine(200.0, 100.0, 1.0))
    mod = install([gpu])
    sources = nvml_sources(env={})
    assert isinstance(sources[0], NvmlPowerSource) and sources[0].provenance() == ["nvml-power-sampled"]
    # the meter registers the source with the shared sampler at its default interval
    ta, tb, a, b = window(mod, Meter(sources), 1.5)
    got = b.joules[0] - a.joules[0]
    # exactly the trapezoids of the powers the stand-in answered, when it answered them (however late a loaded
    # machine ran the sampler); and the true integral within the error sampling can make: |P'| <= 2 pi x 100 W/s,
    # over gaps no longer than the longest measured one
    assert got == pytest.approx(integral_of_answers(gpu.power_log, ta, tb), rel=2e-3)
    gap = max_gap(gpu.power_log, ta, tb)
    assert abs(got - _truth(mod, gpu, ta, tb)) <= 2 * math.pi * 100.0 * gap * ((tb - ta) / 4 + gap) + 1e-3
    assert gap < 0.5 or got == pytest.approx(_truth(mod, gpu, ta, tb), rel=0.01)
    assert mod.init_count == 0


def test_counter_gpu_failing_mid_run_degrades_once_to_average_power(install) -> None:
    gpu = FakeGpu("GPU-44444444-dddd", profile=constant(250.0))
    mod = install([gpu])
    meter = Meter(nvml_sources(env={}))
    try:
        start = meter.read()
        time.sleep(1.0)
        t0 = mod.elapsed()
        before = meter.read()
        t1 = mod.elapsed()
        gpu.fail_after_s = mod.elapsed()  # the GPU is lost from now on: after `before`, whatever the load
        wait_until(lambda: gpu.failures > 0, what="a failed NVML call")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            after = meter.read()
            time.sleep(0.1)
            later = meter.read()
        assert len(caught) == 1 and "nvml-energy" in str(caught[0].message) and "gpu:0" in str(caught[0].message)
        (prov,) = meter.provenance()
        assert prov.startswith("model-gpu-avg (fallback: nvml-energy failed: NVMLError")
        elapsed = before.t_mono - start.t_mono
        assert before.joules[0] - start.joules[0] == pytest.approx(250.0 * elapsed, abs=250.0 * (t1 - t0) + 1e-3)
        assert later.joules[0] > after.joules[0] >= before.joules[0]
        power = (later.joules[0] - after.joules[0]) / (later.t_mono - after.t_mono)
        assert power == pytest.approx(250.0, rel=0.05), "the model holds the measured average"
    finally:
        meter.close()


def test_power_only_gpu_failing_in_sampler_degrades_to_power_limit(install) -> None:
    gpu = FakeGpu("GPU-55555555-eeee", energy_counter=False, profile=constant(180.0), fail_after_s=0.2)
    install([gpu])
    meter = Meter(nvml_sources(env={}))
    try:
        # the sampler thread hits the failure; the training thread must not see an exception
        wait_until(lambda: gpu.failures > 0, what="the sampler's failed NVML call")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            meter.read()
            meter.read()
        assert len(caught) == 1
        (prov,) = meter.provenance()
        assert prov.startswith("model-gpu-tdp (fallback: nvml-power-sampled failed")
    finally:
        meter.close()


def test_no_nvml_no_driver_no_gpu_measure_nothing_quietly(monkeypatch: pytest.MonkeyPatch, install) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monkeypatch.setitem(sys.modules, "pynvml", None)  # nvidia-ml-py not installed
        assert nvml_sources(env={}) == []
        install([FakeGpu("GPU-66666666")], init_error=12)  # library / driver missing
        assert nvml_sources(env={}) == []
        mod = install([])
        assert nvml_sources(env={}) == [] and mod.init_count == 0


def test_gpu_with_neither_counter_nor_power_nor_model_is_skipped_with_warning(install) -> None:
    blind = dict(energy_counter=False, power=False)
    install([
        FakeGpu("GPU-77777777", name="Mystery Accelerator 9000", power_limit_w=None, **blind),
        FakeGpu("GPU-77777778", utilization=None, **blind),
        FakeGpu("GPU-88888888"),
    ])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (src,) = nvml_sources(env={})
    messages = [str(c.message) for c in caught]
    assert len(messages) == 2 and "cuda:0" in messages[0] and "TDP is unknown" in messages[0]
    assert "cuda:1" in messages[1] and "utilisation is unreadable" in messages[1] and "not measured" in messages[1]
    assert src.devices[0].id == "gpu:2" and src.provenance() == ["nvml-energy"]
    src.close()


def test_power_mode_samples_even_where_the_counter_exists(install) -> None:
    install([FakeGpu("GPU-99999999")])
    (src,) = nvml_sources(env={}, mode="power")
    assert isinstance(src, NvmlPowerSource)
    src.close()
    with pytest.raises(ValueError, match="mode must be"):
        nvml_sources(env={}, mode="counter")
