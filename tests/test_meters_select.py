"""The writer's default sources on fake hardware: NVML and RAPL first, the models as labelled fallback."""
from __future__ import annotations

import csv
import sys
import time
import warnings
from pathlib import Path

import pytest

from fakes.fake_nvml import FakeGpu, constant, make_fake_nvml
from fakes.powercap import as_unprivileged_reader, intel_two_sockets
from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.select import default_sources


def test_hardware_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu("GPU-aa"), FakeGpu("GPU-bb")]))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    intel_two_sockets(tmp_path)
    sources = default_sources(sysfs_root=str(tmp_path))
    try:
        assert [(s.devices[0].id, s.provenance()[0]) for s in sources] == [
            ("gpu:0", "nvml-energy"), ("cpu:0", "rapl"), ("ram", "rapl")
        ]
    finally:
        for s in sources:
            s.close()


def test_nothing_measurable_means_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sources = default_sources(sysfs_root=str(tmp_path / "none"))
    assert [s.devices[0].id for s in sources] == ["cpu:0", "ram"]
    assert [s.provenance()[0].split("-")[0] for s in sources] == ["model", "model"]


def test_writer_records_hardware_energy_and_provenance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = FakeGpu("GPU-cc", name="NVIDIA Fake H100", profile=constant(300.0))
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([gpu]))
    cap = intel_two_sockets(tmp_path / "powercap")
    with cap, GreenSummaryWriter(str(tmp_path / "run"), country="DE", sysfs_root=str(tmp_path / "powercap")) as w:
        with w.stage("train"):
            time.sleep(0.3)
    with open(tmp_path / "run" / "green.csv", newline="") as f:
        (values,) = list(csv.DictReader(f))
    prov = values["provenance"]
    assert "gpu:0=nvml-energy" in prov and "cpu:0=rapl" in prov and "ram=rapl" in prov
    d = float(values["duration_s"])  # measured, not the nominal sleep: a loaded machine oversleeps
    assert d >= 0.3
    assert float(values["energy_kwh_gpu"]) * 3.6e6 == pytest.approx(300.0 * d, rel=0.01)
    # the fake RAPL ticker (every 0.5 ms) may run late on a loaded machine: the files lag the instant they are
    # read by up to its longest gap between writes, at the stage's start as at its end; and the read itself may
    # wait for the GIL (up to a switch interval) after the meter stamps the instant
    slack = cap.max_gap + sys.getswitchinterval()
    assert 100.0 * (d - slack) <= float(values["energy_kwh_cpu"]) * 3.6e6 <= 100.0 * (d + slack)


def test_writer_with_root_only_rapl_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    cap = intel_two_sockets(tmp_path / "powercap")
    for z in cap.zones:
        (z.path / "energy_uj").chmod(0o000)
    with as_unprivileged_reader(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with GreenSummaryWriter(str(tmp_path / "run"), country="DE", sysfs_root=str(tmp_path / "powercap")) as w:
            with w.stage("train"):
                sum(range(100_000))
    cap.stop()
    rapl = [c for c in caught if "RAPL" in str(c.message)]
    assert len(rapl) == 1 and "chmod o+r" in str(rapl[0].message)
    with open(tmp_path / "run" / "green.csv", newline="") as f:
        (values,) = list(csv.DictReader(f))
    assert "cpu:0=model-tdp" in values["provenance"] and "(rapl unreadable)" in values["provenance"]
