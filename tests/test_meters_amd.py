"""AMD GPUs through a stand-in with AMD SMI's Python API, injected where ``import amdsmi`` happens."""
from __future__ import annotations

import importlib.util
import sys
import time
import warnings
from typing import Callable

import pytest

from conftest import require
from fakes.fake_amdsmi import FakeAmdGpu, make_fake_amdsmi
from fakes.fake_nvml import constant, window
from greenops_tb.meters.amd import amd_sources, probe
from greenops_tb.meters.amd_devices import visible_amd_gpus
from greenops_tb.meters.base import Meter
from greenops_tb.meters.gpu_common import MEM_KEY, UTIL_KEY


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Callable:
    def _install(gpus: list[FakeAmdGpu], **kw):
        mod = make_fake_amdsmi(gpus, **kw)
        monkeypatch.setitem(sys.modules, "amdsmi", mod)
        return mod

    return _install


def _prov(sources) -> dict[str, str]:
    return {d.id: p for s in sources for d, p in zip(s.devices, s.provenance())}


def test_energy_counter_in_microjoules_validated_and_read(install) -> None:
    mod = install([FakeAmdGpu(0xA1, profile=constant(500.0))])
    (src,) = amd_sources(env={}, validate_s=0.1)
    assert src.provenance() == ["amdsmi-energy"] and src.devices[0].id == "gpu:0"
    assert 0.5 <= src.support.counter_ratio <= 2.0
    ta, tb, a, b = window(mod, Meter([src]), 0.3)
    # 500 W: accumulator steps of 15.259 uJ; a reading of steps x 1e-6 (not x 1e-3) would be 1000x off
    assert b.joules[0] - a.joules[0] == pytest.approx(500.0 * (tb - ta), rel=0.01)
    assert b.context[0][MEM_KEY] == pytest.approx(20.48) and b.context[0][UTIL_KEY] > a.context[0][UTIL_KEY]
    assert mod.init_count == 0, "closing the last source shuts AMD SMI down"


def test_32_bit_accumulator_wraps_and_is_unwrapped(install) -> None:
    steps_per_s = 500.0 / 15.259e-6
    mod = install([FakeAmdGpu(0xA2, counter_bits=32, counter_start=2**32 - int(0.25 * steps_per_s))])
    (src,) = amd_sources(env={}, validate_s=0.05)
    ta, tb, a, b = window(mod, Meter([src]), 0.4, settle=0.0)
    assert mod.gpus[0].counter_start + (tb + 0.1) * steps_per_s > 2**32, "the window crosses the wrap"
    assert b.joules[0] - a.joules[0] == pytest.approx(500.0 * (tb - ta), rel=0.01)


def test_nonsense_counter_is_not_used_and_says_why(install) -> None:
    # CodeCarbon's first AMD release reported ~12.5 MW: a counter a million times too large
    install([FakeAmdGpu(0xA3, counter_factor=1e6)])
    (src,) = amd_sources(env={}, validate_s=0.1)
    assert src.provenance() == ["amdsmi-power-sampled"]
    assert "disagrees with sampled power" in src.support.counter_error and src.support.counter_ratio > 1e5
    src.close()


def test_idle_gpu_counter_cannot_be_validated_so_power_is_sampled(install) -> None:
    mod = install([FakeAmdGpu(0xA4, profile=constant(0.0))])
    (src,) = amd_sources(env={}, validate_s=0.05)
    assert src.provenance() == ["amdsmi-power-sampled"] and "~0 W" in src.support.counter_error
    _, _, a, b = window(mod, Meter([src]), 0.1)
    assert b.joules[0] == a.joules[0] == 0.0


def test_sampled_power_integrates_within_two_percent(install) -> None:
    mod = install([FakeAmdGpu(0xA5, energy_counter=False, profile=constant(320.0))])
    (src,) = amd_sources(env={}, interval=0.02)
    ta, tb, a, b = window(mod, Meter([src]), 0.5)
    assert src.provenance() == ["amdsmi-power-sampled"]
    assert b.joules[0] - a.joules[0] == pytest.approx(320.0 * (tb - ta), rel=0.02)


def test_no_power_no_counter_models_power_cap_times_activity(install) -> None:
    mod = install([FakeAmdGpu(0xA6, energy_counter=False, power=False, power_cap_w=750.0, activity=40)])
    (src,) = amd_sources(env={}, interval=0.02)
    assert src.provenance() == ["model-gpu-tdp-util"] and src.tdp.source == "power-limit"
    ta, tb, a, b = window(mod, Meter([src]), 0.5)
    assert b.joules[0] - a.joules[0] == pytest.approx(750.0 * 0.40 * (tb - ta), rel=0.03)


def test_counter_without_power_is_used_but_labelled_unvalidated(install) -> None:
    install([FakeAmdGpu(0xA7, power=False)])
    (src,) = amd_sources(env={}, validate_s=0.05)
    assert src.provenance() == ["amdsmi-energy (unvalidated: no power reading)"]
    src.close()


def test_failure_mid_run_falls_back_once_with_label(install) -> None:
    mod = install([FakeAmdGpu(0xA8, profile=constant(400.0))])
    (src,) = amd_sources(env={}, validate_s=0.05)
    mod.gpus[0].fail_after_s = mod.elapsed() + 1.2
    meter = Meter([src])
    try:
        a = meter.read().joules[0]
        time.sleep(1.3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            b = meter.read().joules[0]
            t = time.perf_counter()
            time.sleep(0.2)
            c = meter.read().joules[0]
            dt = time.perf_counter() - t
        prov = meter.provenance()[0]
    finally:
        meter.close()
    assert len([w for w in caught if "amdsmi-energy" in str(w.message)]) == 1
    assert prov.startswith("model-gpu-avg") and "fallback: amdsmi-energy failed" in prov
    assert a <= b <= c, "continuity kept"
    assert c - b == pytest.approx(400.0 * dt, rel=0.1), "the model goes on at the average the counter measured"


def _four(**kw) -> list[FakeAmdGpu]:
    # amd-smi (PCI) order differs from HIP order: HIP enumerates them 2, 0, 3, 1
    return [FakeAmdGpu(0xB0 + i, hip_id=h, bus=i, **kw) for i, h in enumerate((2, 0, 3, 1))]


@pytest.mark.parametrize("enumeration_info", [True, False], ids=["hip_id", "rocm63-kfd-node"])
def test_hip_order_and_visibility_variables(install, enumeration_info: bool) -> None:
    mod = install(_four(), enumeration_info=enumeration_info)
    mod.amdsmi_init()
    try:
        def serials(env, **kw):
            return [int(g.serial, 16) for g in visible_amd_gpus(mod, env, **kw)]

        assert serials({}, hip=False) == [0xB1, 0xB3, 0xB0, 0xB2], "cuda:N follows HIP, not amd-smi order"
        assert serials({"ROCR_VISIBLE_DEVICES": "3,0"}, hip=False) == [0xB2, 0xB1]
        assert serials({"ROCR_VISIBLE_DEVICES": "GPU-00000000000000b0,1"}, hip=False) == [0xB0, 0xB3]
        # HIP_VISIBLE_DEVICES indexes what ROCr left visible
        assert serials({"ROCR_VISIBLE_DEVICES": "1,2,3", "HIP_VISIBLE_DEVICES": "2"}, hip=False) == [0xB2]
        # CUDA_VISIBLE_DEVICES names AMD GPUs only under a ROCm build of torch, and HIP_VISIBLE_DEVICES wins
        assert serials({"CUDA_VISIBLE_DEVICES": "1"}, hip=True) == [0xB3]
        assert serials({"CUDA_VISIBLE_DEVICES": "1"}, hip=False) == [0xB1, 0xB3, 0xB0, 0xB2]
        assert serials({"CUDA_VISIBLE_DEVICES": "1", "HIP_VISIBLE_DEVICES": "3"}, hip=True) == [0xB2]
        assert serials({"HIP_VISIBLE_DEVICES": ""}, hip=False) == []
        assert serials({"HIP_VISIBLE_DEVICES": "0,x,2"}, hip=False) == [0xB1], "an invalid entry ends the list"
        assert serials({}, hip=False, gpus=["GPU-00000000000000b3"]) == [0xB3]
        uuid = visible_amd_gpus(mod, {}, hip=False)[0].uuid
        assert serials({"ROCR_VISIBLE_DEVICES": "GPU-" + uuid}, hip=False) == [0xB1], "amdsmi's UUID form too"
        with pytest.raises(ValueError, match="sees 4 AMD GPU"):
            visible_amd_gpus(mod, {}, [7], hip=False)
    finally:
        mod.amdsmi_shut_down()


def test_cpx_partitions_share_one_socket_measured_once(install) -> None:
    # MI300X in CPX mode: socket 0xC0 appears as 4 partitions; only partition 0 reports power and energy
    parts = [FakeAmdGpu(0xC0, partition_id=p, partition_mode="CPX", profile=constant(600.0)) for p in range(4)]
    mod = install([*parts, FakeAmdGpu(0xC1, bus=1, profile=constant(300.0))])
    sources = amd_sources(env={"HIP_VISIBLE_DEVICES": "1,2,4"}, hip=False, validate_s=0.05)
    prov = _prov(sources)
    assert prov == {"gpu:0": "amdsmi-energy [partition: whole socket]", "gpu:2": "amdsmi-energy"}, \
        "cuda:0 and cuda:1 are partitions of one socket: one source, the socket's counter"
    assert "partition of 4: whole socket measured" in sources[0].devices[0].name
    ta, tb, a, b = window(mod, Meter(sources), 0.3)
    assert b.joules[0] - a.joules[0] == pytest.approx(600.0 * (tb - ta), rel=0.01), "600 W once, not twice"
    assert b.joules[1] - a.joules[1] == pytest.approx(300.0 * (tb - ta), rel=0.01)


def test_probe_reports_every_socket_in_one_window(install) -> None:
    mod = install([FakeAmdGpu(0xD0), FakeAmdGpu(0xD1, counter_factor=0.01, bus=1)])
    mod.amdsmi_init()
    try:
        t0 = time.perf_counter()
        sup = probe(mod, visible_amd_gpus(mod, {}, hip=False), validate_s=0.2)
        took = time.perf_counter() - t0
    finally:
        mod.amdsmi_shut_down()
    assert sup[0].counter_error is None and "disagrees with sampled power" in sup[1].counter_error
    # the stand-in counts 1 % of its power: the ratio says so (the window's ends are read a few µs apart)
    assert sup[1].counter_ratio == pytest.approx(0.01, rel=0.05)
    assert f"ratio {sup[1].counter_ratio:.3g}" in sup[1].counter_error
    assert took < 0.2 * 2 + 0.3, "sockets are validated together, not one window each"


def test_amdsmi_missing_or_without_driver_measures_nothing(install, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    assert amd_sources(env={}) == []
    install([FakeAmdGpu(0xE0)], init_error=34)  # AMDSMI_STATUS_DRIVER_NOT_LOADED
    assert amd_sources(env={}) == []


def test_real_amdsmi_package_without_rocm_library_is_quiet(capfd, monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)
    require(importlib.util.find_spec("amdsmi") is not None, "the amdsmi package (pip install greenops_tb[amd])")
    assert amd_sources(env={}) == [], "no libamd_smi.so here: nothing measured, no crash"
    out, err = capfd.readouterr()
    assert "libamd_smi" not in out + err, "the package's own hint goes to the debug log, not the console"
