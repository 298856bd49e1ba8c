"""Per-process attribution on shared machines: a real second busy process (CPU), stand-in GPUs with two processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psutil
import pytest

from fakes.fake_amdsmi import FakeAmdGpu, FakeProcess, make_fake_amdsmi
from fakes.fake_nvml import FakeGpu, constant, make_fake_nvml, window
from fakes.powercap import FakePowercap, Zone
from greenops_tb.cli import main
from greenops_tb.meters.base import Meter
from greenops_tb.meters.cpu_share import ShareWatch
from greenops_tb.meters.gpu_common import UTIL_KEY
from greenops_tb.meters.rapl import rapl_sources
from greenops_tb.meters.select import default_sources

PACKAGE_W = 100.0


@pytest.fixture
def busy_process():
    """A real process keeping one CPU busy for the test's duration."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)
    yield proc
    proc.kill()
    proc.wait(10)


@pytest.fixture
def no_gpus(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", None)


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def _busy_seconds(t) -> float:
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


def test_rapl_times_process_share_with_a_second_busy_process(tmp_path: Path, busy_process, no_gpus) -> None:
    with FakePowercap(tmp_path / "powercap", [Zone("intel-rapl:0", "package-0", PACKAGE_W)]) as cap:
        sources = default_sources(sysfs_root=str(tmp_path / "powercap"), cpu_attribution="process")
        meter = Meter(sources)
        try:
            cpu = [d.id for d in meter.devices].index("cpu:0")
            assert meter.provenance()[cpu] == "rapl x process-share"
            me = psutil.Process()
            m0, a0 = me.cpu_times(), psutil.cpu_times()
            with cap.held() as ta:
                a = meter.read()
            _burn(1.5)
            with cap.held() as tb:
                b = meter.read()
            m1, a1 = me.cpu_times(), psutil.cpu_times()
        finally:
            meter.close()
    # expected, by hand: the package's energy over the window x (our CPU time / all busy CPU time), from psutil
    mine = (m1.user - m0.user) + (m1.system - m0.system)
    share = mine / (_busy_seconds(a1) - _busy_seconds(a0))
    got = b.joules[cpu] - a.joules[cpu]
    whole = PACKAGE_W * (tb - ta)
    assert share < 0.8, "the busy process takes a CPU's worth of time: this process's share is well below 1"
    assert got == pytest.approx(whole * share, rel=0.25, abs=2.0)
    assert got < whole * 0.85, "not the whole socket"


def test_whole_socket_default_warns_once_when_others_use_the_cpu(tmp_path: Path, busy_process) -> None:
    with FakePowercap(tmp_path, [Zone("intel-rapl:0", "package-0", PACKAGE_W)]):
        (cpu,) = rapl_sources(tmp_path)
        watched = ShareWatch(cpu, watch_s=0.6)
        meter = Meter([watched])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                meter.read()
                time.sleep(1.5)  # this process sleeps; the other one burns a CPU
                meter.read()
            finally:
                meter.close()
    said = [str(w.message) for w in caught if "cpu_attribution='process'" in str(w.message)]
    assert len(said) == 1 and "whole CPU socket" in said[0]
    assert meter.provenance() == ("rapl",), "the default figure stays whole-socket"


def test_nvml_gpu_shared_with_another_process(monkeypatch) -> None:
    me = os.getpid()
    gpu = FakeGpu("GPU-5555-eeee", profile=constant(300.0), processes=[(me, 0.25), (4242, 0.50)])
    mod = make_fake_nvml([gpu])
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        whole = default_sources(sysfs_root="/nonexistent/powercap")
    for s in whole:
        s.close()
    said = [str(w.message) for w in caught if "gpu_attribution='process'" in str(w.message)]
    assert len(said) == 1 and "gpu:0 (pids 4242)" in said[0]
    assert {d.id: p for s in whole for d, p in zip(s.devices, s.provenance())}["gpu:0"] == "nvml-energy"

    sources = default_sources(sysfs_root="/nonexistent/powercap", gpu_attribution="process", sample_interval=0.05)
    meter = Meter(sources)
    g = [d.id for d in meter.devices].index("gpu:0")
    ta, tb, a, b = window(mod, meter, 0.6, settle=0.2)
    prov = meter.provenance()[g]
    assert prov == "nvml-energy x process-util"
    # 25 of the 75 busy SM-percent are this process's: a third of 300 W
    assert b.joules[g] - a.joules[g] == pytest.approx(300.0 * (tb - ta) / 3, rel=0.05)
    assert b.context[g][UTIL_KEY] > a.context[g][UTIL_KEY], "the GPU's device context is kept"


def test_amd_gpu_split_by_gfx_engine_time(monkeypatch) -> None:
    me = os.getpid()
    gpu = FakeAmdGpu(0xF0, profile=constant(400.0), processes=[FakeProcess(me, 0.2), FakeProcess(777, 0.6)])
    mod = make_fake_amdsmi([gpu])
    monkeypatch.setitem(sys.modules, "amdsmi", mod)
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", None)
    sources = default_sources(sysfs_root="/nonexistent/powercap", gpu_attribution="process", sample_interval=0.05)
    meter = Meter(sources)
    ta, tb, a, b = window(mod, meter, 0.6, settle=0.2)
    prov = meter.provenance()[0]
    assert prov == "amdsmi-energy x process-util"
    assert b.joules[0] - a.joules[0] == pytest.approx(400.0 * (tb - ta) * 0.25, rel=0.05)


def test_bad_attribution_option_says_what_is_allowed(no_gpus) -> None:
    with pytest.raises(ValueError, match="cpu_attribution must be one of"):
        default_sources(cpu_attribution="rank")


def test_doctor_says_other_processes_make_the_socket_figure_misleading(busy_process, capsys, monkeypatch,
                                                                        tmp_path) -> None:
    me = os.getpid()
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu("GPU-7777", processes=[(me, 0.1), (99, 0.5)])]))
    FakePowercap(tmp_path, [Zone("intel-rapl:0", "package-0", PACKAGE_W)])  # RAPL: a whole-socket figure
    assert main(["doctor", "--json", "--sysfs-root", str(tmp_path), "--country", "DE"]) == 0
    rep = json.loads(capsys.readouterr().out)
    n = psutil.cpu_count()
    assert rep["cpu"]["others_busy_pct"] >= 100.0 / n * 0.5, "the busy process holds one CPU"
    noted = [note for note in rep["cpu"]["notes"] if "cpu_attribution='process'" in note]
    assert bool(noted) == (rep["cpu"]["others_busy_pct"] >= 25.0), "the note comes exactly when others hold a quarter"
    assert all("rapl measures the whole socket" in note for note in noted)
    assert rep["cpu"]["others_busy_pct"] <= 100.0
    assert rep["gpu"]["gpus"][0]["compute_pids"] == [me, 99]
