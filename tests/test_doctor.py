"""``greenops-tb doctor``: on fake hardware (in process) and on this bare machine (real subprocess)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require
from fakes.fake_nvml import FakeGpu, make_fake_nvml
from fakes.powercap import as_unprivileged_reader, intel_two_sockets
from greenops_tb.cli import main


def _doctor(capsys: pytest.CaptureFixture, *argv: str) -> dict:
    assert main(["doctor", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_reports_gpus_mapping_rapl_cpu_location_and_sources(tmp_path, monkeypatch, capsys) -> None:
    gpus = [FakeGpu("GPU-aaaa-1111", name="NVIDIA A100"), FakeGpu("GPU-bbbb-2222", name="Tesla P4", energy_counter=False),
            FakeGpu("GPU-cccc-3333", name="Tesla V100-SXM2-16GB", energy_counter=False, power=False, power_limit_w=None)]
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml(gpus, driver="550.54.15"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,GPU-aaaa")
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    intel_two_sockets(tmp_path)
    rep = _doctor(capsys, "--sysfs-root", str(tmp_path), "--country", "DE")
    g = rep["gpu"]
    assert g["status"] == "ok" and g["driver"] == "550.54.15"
    assert [x["measured_as"] for x in g["gpus"]] == ["nvml-energy", "nvml-power-sampled", "model-gpu-tdp-util"]
    assert g["gpus"][2]["model_tdp_w"] == 300 and g["gpus"][2]["model_tdp_source"].startswith("table:")
    assert "NVMLError" in g["gpus"][1]["energy_counter"]
    assert [(v["cuda"], v["nvml_index"]) for v in g["visible"]] == [("cuda:0", 1), ("cuda:1", 0)]
    assert any("CUDA_DEVICE_ORDER=PCI_BUS_ID" in n for n in g["notes"]), "mixed models: index order may differ"
    zones = {z["zone"]: z for z in rep["rapl"]["zones"]}
    assert zones["intel-rapl:0"]["counts_as"] == "cpu" and zones["intel-rapl:0:2"]["counts_as"] == "ram"
    assert zones["intel-rapl:0:0"]["counts_as"] == "-" and zones["intel-rapl:0:0"]["energy_uj"] == "readable"
    assert rep["cpu"]["tdp_w"] > 0 and rep["cpu"]["tdp_source"]
    assert rep["location"]["zone"] == "DE" and rep["location"]["chosen_by"].startswith("argument")
    used = {d["device"]: d["provenance"] for d in rep["sources"]["devices"]}
    assert used == {"gpu:0": "nvml-power-sampled", "gpu:1": "nvml-energy", "cpu:0": "rapl", "ram": "rapl"}


def test_unreadable_rapl_says_how_to_fix(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    cap = intel_two_sockets(tmp_path)
    for z in cap.zones:
        (z.path / "energy_uj").chmod(0o000)
    with as_unprivileged_reader():
        assert main(["doctor", "--sysfs-root", str(tmp_path), "--country", "FR"]) == 0
    out = capsys.readouterr().out
    assert "nvidia-ml-py is not installed" in out
    assert "PermissionError" in out and "chmod o+r" in out
    assert "cpu:0" in out and "model-tdp" in out and "(rapl unreadable)" in out


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GREENOPS_")}


def test_bare_machine_subprocess_is_useful(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "greenops_tb", "doctor", "--sysfs-root", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "GPU (NVML)" in proc.stdout and "A writer would measure" in proc.stdout
    assert "cpu:0" in proc.stdout and "ram" in proc.stdout and "model" in proc.stdout
    assert f"no RAPL zones under {tmp_path / 'none'}" in proc.stdout
    assert "world-average" in proc.stdout, "no location given: says what it would use and why"


def test_console_script(tmp_path: Path) -> None:
    exe = shutil.which("greenops-tb")
    require(exe is not None, "the greenops-tb console script (pip install -e .)")
    proc = subprocess.run([exe, "doctor", "--json", "--country", "SE", "--sysfs-root", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["location"]["zone"].startswith("SE")


def test_hwmon_sensors_listed_with_how_each_is_used(tmp_path, monkeypatch, capsys) -> None:
    from fakes.hwmon import grace_hopper

    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu("GPU-aaaa-1111", name="NVIDIA GH200 480GB")]))
    monkeypatch.delenv("GREENOPS_HWMON_ROOT", raising=False)
    grace_hopper(tmp_path / "hwmon")
    rep = _doctor(capsys, "--sysfs-root", str(tmp_path / "powercap"), "--country", "DE")
    h = {s["label"]: s for s in rep["hwmon"]["sensors"]}
    assert rep["hwmon"]["root"] == str(tmp_path / "hwmon")
    assert h["Grace Power Socket 0"]["counted"] and h["Grace Power Socket 0"]["role"] == "cpu"
    assert not h["Module Power Socket 0"]["counted"] and "not counted twice" in h["Module Power Socket 0"]["why"]
    assert not h["CPU Power Socket 0"]["counted"]
    used = {d["device"]: d["provenance"] for d in rep["sources"]["devices"]}
    assert used["gpu:0"] == "nvml-energy" and used["cpu:0"] == "hwmon-power-sampled" and used["ram"] == "model-rss"
    assert main(["doctor", "--sysfs-root", str(tmp_path / "powercap"), "--country", "DE"]) == 0
    text = capsys.readouterr().out
    assert "power_meter Module Power Socket 0 [power1_average]: module; not counted" in text


def test_amd_gpus_partitions_and_a_rejected_counter(monkeypatch, capsys, tmp_path) -> None:
    from fakes.fake_amdsmi import FakeAmdGpu, make_fake_amdsmi

    parts = [FakeAmdGpu(0xC0, partition_id=p, partition_mode="CPX") for p in range(2)]
    monkeypatch.setitem(sys.modules, "amdsmi", make_fake_amdsmi([*parts, FakeAmdGpu(0xC1, bus=1, counter_factor=1e6)]))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "1,2")
    rep = _doctor(capsys, "--sysfs-root", str(tmp_path), "--country", "DE")
    a = rep["amd"]
    assert a["status"] == "ok" and [g["rocr_uuid"] for g in a["gpus"]] == ["GPU-00000000000000c0"] * 2 + \
        ["GPU-00000000000000c1"]
    assert a["gpus"][0]["measured_as"] == "amdsmi-energy" and "validated" in a["gpus"][0]["energy_counter"]
    assert "measured once" in a["gpus"][1]["measured_as"]
    assert a["gpus"][2]["measured_as"] == "amdsmi-power-sampled"
    assert "disagrees with sampled power" in a["gpus"][2]["energy_counter"]
    assert [v["cuda"] for v in a["visible"]] == ["cuda:0", "cuda:1"] and a["visible"][1]["amdsmi_index"] == 2
    used = {d["device"]: d["provenance"] for d in rep["sources"]["devices"]}
    assert used["gpu:0"] == "amdsmi-energy [partition: whole socket]" and used["gpu:1"] == "amdsmi-power-sampled"


def test_apple_silicon_counters_explained(monkeypatch, capsys, tmp_path) -> None:
    from fakes.fake_apple import FakeSoc, make_fake_apple

    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", make_fake_apple(FakeSoc()))
    rep = _doctor(capsys, "--sysfs-root", str(tmp_path), "--country", "DE")
    assert rep["apple"]["status"].startswith("ok")
    assert {d["device"]: d["fields"] for d in rep["apple"]["devices"]}["gpu:0"] == ["gpu_mj", "gpu_sram_mj"]
    used = {d["device"]: d["provenance"] for d in rep["sources"]["devices"]}
    assert used == dict.fromkeys(["cpu:0", "gpu:0", "gpu:ane", "ram"], "apple-ioreport")


def test_job_and_host_identity(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "555")
    monkeypatch.setenv("GREENOPS_HOST_ID", "rack3-node7")
    rep = _doctor(capsys, "--sysfs-root", str(tmp_path), "--country", "DE")
    assert rep["job"]["job"]["key"] == "slurm:555" and rep["job"]["host_id"] == "rack3-node7"
    assert main(["doctor", "--sysfs-root", str(tmp_path), "--country", "DE"]) == 0
    assert "job: slurm:555; host id: rack3-node7" in capsys.readouterr().out


def test_powercap_root_takes_the_sysfs_root_too(tmp_path, monkeypatch, capsys) -> None:
    """``--powercap-root`` (old name ``--sysfs-root``) given a sysfs root reads the powercap dir under it."""
    monkeypatch.setitem(sys.modules, "pynvml", None)
    intel_two_sockets(tmp_path / "sys" / "class" / "powercap")
    for root in ("sys", "sys/class"):
        rep = _doctor(capsys, "--powercap-root", str(tmp_path / root), "--country", "DE")
        assert rep["rapl"]["root"] == str(tmp_path / "sys" / "class" / "powercap"), root
        assert {z["counts_as"] for z in rep["rapl"]["zones"]} >= {"cpu", "ram"}, root
