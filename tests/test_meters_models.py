"""Model meters (CPU TDP x process CPU time, RAM W/GB x RSS), the TDP table, and watched value kinds."""
from __future__ import annotations

import time

import numpy as np
import psutil
import pytest
import torch

from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.base import Meter
from greenops_tb.meters.cpu_info import DEFAULT_W_PER_LOGICAL_CPU, lookup_tdp, normalise_model, resolve_cpu_tdp
from greenops_tb.meters.model import RAM_W_PER_GB, ModelCpuSource, ModelRamSource
from greenops_tb.recording.watch import Watches


@pytest.mark.parametrize(
    "model, key, tdp",
    [
        ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "intel xeon e5-2686 v4", 145.0),
        ("AMD EPYC 7302 16-Core Processor", "amd epyc 7302", 155.0),
        ("13th Gen Intel(R) Core(TM) i9-13900K", "intel core i9-13900k", 125.0),
    ],
)
def test_tdp_table_matches_real_model_strings(model, key, tdp):
    assert lookup_tdp(model) == (key, tdp)
    got = resolve_cpu_tdp(model=model)
    assert got.tdp_w == tdp and got.source == f"table:{key}"


def test_unknown_model_uses_documented_per_cpu_default_and_overrides(monkeypatch):
    assert lookup_tdp("AMD EPYC") is None  # a bare family name matches nothing specific
    got = resolve_cpu_tdp(model="AMD EPYC", cpus=8)
    assert got.tdp_w == DEFAULT_W_PER_LOGICAL_CPU * 8 and got.source.startswith("default")
    assert resolve_cpu_tdp(95, model="AMD EPYC").tdp_w == 95.0
    monkeypatch.setenv("GREENOPS_CPU_TDP_W", "77")
    assert resolve_cpu_tdp(model="AMD EPYC").tdp_w == 77.0
    monkeypatch.setenv("GREENOPS_CPU_TDP_W", "lots")
    with pytest.raises(ValueError, match="GREENOPS_CPU_TDP_W"):
        resolve_cpu_tdp(model="x")
    assert normalise_model("Intel(R) Core(TM) i7 CPU @ 3.0GHz") == "intel core i7"


def test_cpu_model_is_tdp_times_process_cpu_time():
    src = ModelCpuSource(resolve_cpu_tdp(64.0, model="test"), cpus=4)
    c0, j0 = time.process_time(), src.read()[0]
    x = torch.randn(256, 256)
    while time.process_time() - c0 < 0.1:  # 0.1 CPU seconds, however long a loaded machine takes to give them
        x = (x @ x).tanh()
    c1, j1 = time.process_time(), src.read()[0]
    assert c1 - c0 >= 0.1
    assert (j1 - j0) == pytest.approx(16.0 * (c1 - c0), rel=0.02)  # 64 W / 4 CPUs x CPU seconds
    assert src.provenance() == ["model-tdp"]


def test_ram_model_integrates_rss_with_the_shared_sampler():
    src = ModelRamSource(sample_interval=0.02)
    meter = Meter([src])  # registers with the shared sampler thread
    try:
        a = meter.read()
        time.sleep(0.3)
        b = meter.read()
    finally:
        meter.close()
    rss_gb = psutil.Process().memory_info().rss / 1e9
    expect = RAM_W_PER_GB * rss_gb * (b.t_mono - a.t_mono)
    assert (b.joules[0] - a.joules[0]) == pytest.approx(expect, rel=0.1)
    assert meter.provenance() == ("model-rss",)


def test_default_meters_measure_real_training(tmp_path):
    w = GreenSummaryWriter(str(tmp_path / "run"), country="FR")
    model = torch.nn.Linear(128, 128)
    with w.stage("train"):
        for _ in range(200):
            model(torch.randn(64, 128)).sum().backward()
    t = w.totals()
    w.close()
    s = t.stages["train"]
    assert s.energy_kwh_by_kind["cpu"] > 0 and s.energy_kwh_by_kind["ram"] > 0 and s.energy_kwh_by_kind["gpu"] == 0
    assert t.devices["cpu:0"].startswith("model-tdp") and t.devices["ram"] == "model-rss"


def test_watch_kinds_are_read_at_record_time():
    class Holder:
        value = 1.0

    t = torch.tensor(1.0)
    arr = np.array(2.0)
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.5)
    h = Holder()
    d = {"acc": 0.1}
    ws = Watches()
    for name, v in {"t": t, "arr": arr, "np": np.float32(3.0), "opt": opt, "group": opt.param_groups[0],
                    "obj": h, "d": d, "fn": lambda: 7, "nan": float("nan"), "int": 4}.items():
        ws.add(name, v)
    t += 1
    arr += 1
    h.value = 9.0
    d["acc"] = 0.2
    opt.param_groups[0]["lr"] = 0.25
    got = ws.read()
    assert {k: v for k, v in got.items() if k != "nan"} == {
        "t": 2.0, "arr": 3.0, "np": 3.0, "opt": 0.25, "group": 0.25, "obj": 9.0, "d": 0.2, "fn": 7.0, "int": 4.0}
    assert got["nan"] != got["nan"]
