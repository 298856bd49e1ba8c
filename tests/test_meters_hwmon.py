"""hwmon power/energy sensors through a sysfs tree written like the kernel's; the real parsing and arithmetic run."""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pytest

from fakes.fake_nvml import FakeGpu, make_fake_nvml
from fakes.hwmon import Channel, Chip, FakeHwmon, epyc_amd_energy, grace_hopper, jetson_nano
from fakes.powercap import intel_two_sockets
from greenops_tb.meters.base import Meter
from greenops_tb.meters.hwmon import discover, hwmon_root, hwmon_sources, plan
from greenops_tb.meters.select import default_sources


@pytest.fixture(autouse=True)
def _no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.delenv("GREENOPS_HWMON_ROOT", raising=False)


def _provenance(**kw: object) -> dict[str, str]:
    """Device -> provenance of the default sources (closed again), warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sources = default_sources(**kw)
    try:
        return {d.id: p for s in sources for d, p in zip(s.devices, s.provenance())}
    finally:
        for s in sources:
            s.close()


def _by_title(sensors) -> dict[str, object]:
    return {s.title: s for s in sensors}


def test_amd_energy_counts_sockets_not_cores_within_half_percent(tmp_path: Path) -> None:
    with epyc_amd_energy(tmp_path) as hw:
        sensors, covered = plan(discover(tmp_path))
        seen = _by_title(sensors)
        assert covered == {"cpu": "cpu"}
        assert seen["amd_energy Esocket0"].counted and seen["amd_energy Esocket1"].counted
        assert not seen["amd_energy Ecore000"].counted and "part of" in seen["amd_energy Ecore000"].why
        (src,), kinds = hwmon_sources(tmp_path)
        assert kinds == {"cpu"} and src.devices[0].id == "cpu:0" and src.provenance() == ["hwmon-energy"]
        assert src.sample_interval is None, "an energy counter is read at boundaries only"
        with hw.held() as ta:
            a = src.read()[0]
        time.sleep(0.3)
        with hw.held() as tb:
            b = src.read()[0]
        src.close()
    # 100 + 80 W sockets; the four 6 W cores (inside the sockets) would add 24 W if counted
    assert b - a == pytest.approx(180.0 * (tb - ta), rel=0.005)


def test_sensor_kinds_measured_elsewhere_are_not_counted(tmp_path: Path) -> None:
    epyc_amd_energy(tmp_path)
    sensors, covered = plan(discover(tmp_path), measured=["cpu"])
    assert covered == {} and not any(s.counted for s in sensors)
    assert "another source" in _by_title(sensors)["amd_energy Esocket0"].why


def test_counter_reset_keeps_cumulative_energy_rising(tmp_path: Path) -> None:
    with epyc_amd_energy(tmp_path) as hw:
        (src,), _ = hwmon_sources(tmp_path)
        time.sleep(0.2)
        with hw.held() as ta:
            a = src.read()[0]
            for ch in hw.channels():  # at the instant of the read: nothing is lost in between
                hw.reset_counter(ch)
        time.sleep(0.1)
        with hw.held() as tb:
            b = src.read()[0]
        src.close()
    assert a == pytest.approx(180.0 * 0.2, rel=0.3)
    # counted from 0 again: neither negative (raw difference) nor 2**64-sized (a wrap assumed)
    assert b - a == pytest.approx(180.0 * (tb - ta), rel=0.02)


def test_grace_hopper_counts_grace_and_leaves_module_to_nvml(tmp_path: Path) -> None:
    hw = grace_hopper(tmp_path)
    sensors, covered = plan(discover(tmp_path), measured=["gpu"])
    seen = _by_title(sensors)
    assert covered == {"cpu": "cpu"}, "Grace stands for the CPU; the GPU is NVML's; the module contains both"
    assert seen["power_meter Grace Power Socket 0"].counted
    assert not seen["power_meter Module Power Socket 0"].counted
    assert "not counted twice" in seen["power_meter Module Power Socket 0"].why
    assert not seen["power_meter CPU Power Socket 0"].counted and not seen["power_meter SysIO Power Socket 0"].counted
    (src,), _ = hwmon_sources(tmp_path, measured=["gpu"], interval=0.02)
    meter = Meter([src])
    try:
        time.sleep(0.1)
        t0 = time.perf_counter()
        a = meter.read().joules[0]
        time.sleep(0.4)
        b = meter.read().joules[0]
        dt = time.perf_counter() - t0
    finally:
        meter.close()
    assert src.provenance() == ["hwmon-power-sampled"]
    assert b - a == pytest.approx(120.0 * dt, rel=0.05), "Grace's 120 W power_average, sampled and integrated"
    assert hw.chips[0].channels[0].path.name == "power1_average"


def test_module_sensor_alone_stands_for_cpu_gpu_and_ram(tmp_path: Path) -> None:
    FakeHwmon(tmp_path / "hwmon", [Chip("power_meter", [Channel("power", 1, "Module Power Socket 0", 650.0,
                                                                   attr="average", oem_info=True)])])
    ids = _provenance(sysfs_root=str(tmp_path / "powercap"))
    assert ids == {"cpu:0": "hwmon-power-sampled [module sensor: covers cpu+gpu+ram]"}, \
        "no RAM model on top of a sensor that already includes memory"
    assert _provenance(sysfs_root=str(tmp_path / "powercap"), cpu_attribution="process") == ids, \
        "a module sensor includes the GPU: it is not scaled by this process's share of CPU time"


def test_jetson_rails_gpu_and_cpu_counted_board_input_not(tmp_path: Path) -> None:
    jetson_nano(tmp_path / "hwmon")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sources = default_sources(sysfs_root=str(tmp_path / "powercap"), sample_interval=0.02)
    meter = Meter(sources)
    try:
        time.sleep(0.1)
        a = meter.read()
        time.sleep(0.4)
        b = meter.read()
        prov = dict(zip((d.id for d in meter.devices), meter.provenance()))
        got = {d.id: jb - ja for d, ja, jb in zip(meter.devices, a.joules, b.joules)}
        dt = b.t_mono - a.t_mono
    finally:
        meter.close()
    assert prov["gpu:0"] == "hwmon-power-sampled" and prov["cpu:0"] == "hwmon-power-sampled"
    assert prov["ram"] == "model-rss", "no DRAM rail: RAM stays modelled"
    assert got["gpu:0"] == pytest.approx(3.0 * dt, rel=0.05) and got["cpu:0"] == pytest.approx(2.0 * dt, rel=0.05)
    sensors, _ = plan(discover(tmp_path / "hwmon"))
    assert not _by_title(sensors)["ina3221 POM_5V_IN"].counted, "board input contains the rails"
    assert "gpu:0" not in _provenance(sysfs_root=str(tmp_path / "powercap"), gpus="none"), "gpus='none' means none"


def test_hwmon_gpu_sensor_skipped_when_nvml_measures_gpus(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu("GPU-1111")]))
    jetson_nano(tmp_path / "hwmon")
    prov = _provenance(sysfs_root=str(tmp_path / "powercap"))
    assert prov["gpu:0"] == "nvml-energy" and prov["cpu:0"] == "hwmon-power-sampled"
    assert sum(1 for k in prov if k.startswith("gpu")) == 1


def test_energy_channel_wins_over_power_channel_of_same_label(tmp_path: Path) -> None:
    FakeHwmon(tmp_path, [Chip("amd_energy", [Channel("energy", 1, "Esocket0", 50.0),
                                             Channel("power", 1, "Esocket0", 50.0)])])
    sensors, _ = plan(discover(tmp_path))
    assert [(s.family, s.counted) for s in sensors] == [("energy", True), ("power", False)]


def test_rapl_measures_cpu_so_amd_energy_is_skipped_in_default_sources(tmp_path: Path) -> None:
    intel_two_sockets(tmp_path / "powercap")
    epyc_amd_energy(tmp_path / "hwmon")
    assert hwmon_root(tmp_path / "powercap") == str(tmp_path / "hwmon")
    prov = _provenance(sysfs_root=str(tmp_path / "powercap"))
    assert prov == {"cpu:0": "rapl", "ram": "rapl"}


def test_sensor_vanishing_mid_run_degrades_to_model_with_one_warning(tmp_path: Path) -> None:
    hw = epyc_amd_energy(tmp_path / "hwmon")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sources = default_sources(sysfs_root=str(tmp_path / "powercap"))
    meter = Meter(sources)
    try:
        a = meter.read()
        for ch in hw.channels():
            ch.path.write_text("")  # the driver stops answering: reads return no data
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            b = meter.read()
            c = meter.read()
        prov = dict(zip((d.id for d in meter.devices), meter.provenance()))
    finally:
        meter.close()
    assert len([w for w in caught if "hwmon-energy" in str(w.message)]) == 1
    assert prov["cpu:0"].startswith("model-tdp") and "fallback: hwmon-energy failed" in prov["cpu:0"]
    assert a.joules[0] <= b.joules[0] <= c.joules[0]
