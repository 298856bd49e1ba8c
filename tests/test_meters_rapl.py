"""RAPL through a powercap tree written by the test; the real discovery, parsing and arithmetic run."""
from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path

import pytest

from fakes.powercap import FakePowercap, Zone, as_unprivileged_reader, intel_two_sockets
from greenops_tb.meters.base import Meter
from greenops_tb.meters.model import ModelCpuSource, ModelRamSource
from greenops_tb.meters.rapl import RaplSource, discover, rapl_sources

CPU_W = 60.0 + 40.0  # the two packages of intel_two_sockets
RAM_W = 8.0 + 6.0  # their dram subzones


def _window(cap: FakePowercap, source, seconds: float) -> tuple[float, float]:
    """(measured J, true J) over a window of ``seconds``; the truth comes from the counters' own instants."""
    with cap.held() as ta:
        a = source.read()[0]
    time.sleep(seconds)
    with cap.held() as tb:
        b = source.read()[0]
    return b - a, tb - ta


def test_discovery_counts_packages_and_dram_once(tmp_path: Path) -> None:
    intel_two_sockets(tmp_path)
    zones = {Path(z.path).name: z for z in discover(tmp_path)}
    assert {k for k, z in zones.items() if z.kind == "cpu"} == {"intel-rapl:0", "intel-rapl:1"}
    assert {k for k, z in zones.items() if z.kind == "ram"} == {"intel-rapl:0:2", "intel-rapl:1:1"}
    assert zones["intel-rapl:0:0"].kind is None and "twice" in zones["intel-rapl:0:0"].why
    assert zones["intel-rapl:2"].kind is None and "psys" not in zones and "platform" in zones["intel-rapl:2"].why
    assert not any("mmio" in k for k in zones), "intel-rapl-mmio duplicates package-0 and must not be counted"


@pytest.mark.parametrize("seconds", [0.1, 0.25, 0.6])
def test_cpu_and_dram_energy_within_half_percent(tmp_path: Path, seconds: float) -> None:
    with intel_two_sockets(tmp_path) as cap:
        cpu, ram = rapl_sources(tmp_path)
        assert [cpu.devices[0].id, ram.devices[0].id] == ["cpu:0", "ram"]
        assert cpu.provenance() == ["rapl"] and ram.provenance() == ["rapl"]
        t0 = time.perf_counter()
        got_cpu, dt_cpu = _window(cap, cpu, seconds)
        wall = time.perf_counter() - t0
        got_ram, dt_ram = _window(cap, ram, seconds)
        cpu.close()
        ram.close()
    # core, uncore and psys would add 40-195 W here if counted
    assert got_cpu == pytest.approx(CPU_W * dt_cpu, rel=0.005)
    assert got_ram == pytest.approx(RAM_W * dt_ram, rel=0.005)
    # live counters, not a stale file: at least the power x the sleep, at most the power x the measured wall time
    assert CPU_W * seconds * 0.995 <= got_cpu <= CPU_W * wall * 1.005


def test_wraparound_is_unwrapped(tmp_path: Path) -> None:
    # 100 W on a 30 J counter that starts 0.05 J below its top: it wraps at once and every 0.3 s
    zones = [Zone("intel-rapl:0", "package-0", 100.0, max_range_uj=30_000_000, start_uj=29_950_000)]
    with FakePowercap(tmp_path, zones) as cap:
        (cpu, _ram) = rapl_sources(tmp_path, ram_model=ModelRamSource)
        with cap.held() as ta:
            a = cpu.read()[0]
        for _ in range(12):  # boundaries every 0.1 s, as a training loop's stages would be
            time.sleep(0.1)
            cpu.read()
        with cap.held() as tb:
            b = cpu.read()[0]
        cpu.close()
    assert tb - ta > 1.2
    assert b - a == pytest.approx(100.0 * (tb - ta), rel=0.005)


def test_amd_package_without_dram_uses_model_for_ram(tmp_path: Path) -> None:
    zones = [Zone("amd-rapl:0", "package-0", 90.0), Zone("amd-rapl:0:0", "core", 70.0)]
    with FakePowercap(tmp_path, zones) as cap, warnings.catch_warnings():
        warnings.simplefilter("error")
        cpu, ram = rapl_sources(tmp_path, cpu_model=ModelCpuSource, ram_model=ModelRamSource)
        got, dt = _window(cap, cpu, 0.15)
        cpu.close()
    assert isinstance(cpu, RaplSource) and cpu.devices[0].id == "cpu:0"
    assert got == pytest.approx(90.0 * dt, rel=0.005)
    assert ram.provenance() == ["model-rss"], "no dram zone is not an error: the model is used, unlabelled"


def test_no_powercap_uses_models_silently(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sources = rapl_sources(tmp_path / "absent", cpu_model=ModelCpuSource, ram_model=ModelRamSource)
    assert [s.provenance()[0] for s in sources] == [ModelCpuSource().provenance()[0], "model-rss"]


def test_unreadable_energy_uj_one_warning_with_fix_and_model_fallback(tmp_path: Path) -> None:
    cap = intel_two_sockets(tmp_path)
    for z in cap.zones:
        (z.path / "energy_uj").chmod(0o000)
    with as_unprivileged_reader(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sources = rapl_sources(tmp_path, cpu_model=ModelCpuSource, ram_model=ModelRamSource)
    cap.stop()
    assert len(caught) == 1, [str(w.message) for w in caught]
    msg = str(caught[0].message)
    assert "Permission" in msg and "chmod o+r" in msg and "udev" in msg and "energy_uj" in msg
    prov = [s.provenance()[0] for s in sources]
    assert all(p.endswith("(rapl unreadable)") for p in prov) and prov[1].startswith("model-rss")
    meter = Meter(sources)
    try:
        sum(range(200_000))
        first = meter.read().joules
        sum(range(200_000))
        second = meter.read().joules
        assert second[0] > first[0] >= 0.0, "the CPU model must keep measuring this process"
    finally:
        meter.close()


def test_counter_failing_mid_run_degrades_with_one_warning(tmp_path: Path) -> None:
    with intel_two_sockets(tmp_path) as cap:
        meter = Meter(rapl_sources(tmp_path, cpu_model=ModelCpuSource, ram_model=ModelRamSource))
        time.sleep(0.05)
        before = meter.read().joules
    for z in cap.zones:  # the driver goes away: the files now hold no number
        (z.path / "energy_uj").write_text("unavailable\n")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            after = meter.read().joules
            later = meter.read().joules
        assert len(caught) == 2  # one per failing source (cpu:0, ram), not one per read
        assert all("rapl" in str(w.message) for w in caught)
        assert all(a >= b for a, b in zip(after, before)) and all(c >= a for c, a in zip(later, after))
        prov = meter.provenance()
        assert prov[0].startswith("model-tdp") and "fallback: rapl failed: ValueError" in prov[0]
    finally:
        meter.close()


def test_concurrent_reads_never_fake_a_wraparound(tmp_path: Path) -> None:
    zones = [Zone("intel-rapl:0", "package-0", 100.0)]
    with FakePowercap(tmp_path, zones) as cap:
        (cpu, _ram) = rapl_sources(tmp_path, ram_model=ModelRamSource)
        with cap.held() as ta:
            a = cpu.read()[0]
        stop = time.perf_counter() + 0.3

        def hammer() -> None:
            while time.perf_counter() < stop:
                cpu.read()
                cpu.sample()

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with cap.held() as tb:
            b = cpu.read()[0]
        cpu.close()
    assert b - a == pytest.approx(100.0 * (tb - ta), rel=0.005)
