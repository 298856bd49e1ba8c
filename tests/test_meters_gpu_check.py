"""scripts/gpu_check.py, the real-GPU energy check.

On CPU: its logic against the stand-in NVML (tests/fakes): why it cannot run, its
independent power integration, its pass/fail verdict. On a GPU machine the real
check runs as a device-only test (``-m device``; deselected by default, and the
run's summary lists it as not run), so a machine without a GPU never passes it vacuously.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require
from fakes.fake_nvml import FakeGpu, constant, make_fake_nvml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import gpu_check  # noqa: E402


@pytest.mark.device
def test_gpu_check_on_a_real_gpu() -> None:
    reason = gpu_check.no_gpu_reason()
    require(reason is None, f"an NVIDIA GPU with a CUDA build of torch ({reason})")
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--window", "10"],
                          capture_output=True, text=True, timeout=600, cwd=str(REPO))
    assert proc.returncode == gpu_check.EXIT_PASS, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS") >= 3


def test_reasons_it_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([], init_error=9))
    assert gpu_check.no_gpu_reason().startswith("NVML is unavailable")
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([]))
    assert gpu_check.no_gpu_reason() == "NVML reports no GPU"
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu("GPU-11111111-aaaa")]))
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "has no CUDA" in gpu_check.no_gpu_reason()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gpu_check.no_gpu_reason() is None


def test_without_a_gpu_it_exits_2_and_says_nothing_was_checked(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([]))
    assert gpu_check.main(["--window", "10"]) == gpu_check.EXIT_NO_GPU
    out = capsys.readouterr().out
    assert "cannot run here: NVML reports no GPU" in out and "nothing was checked" in out
    with pytest.raises(SystemExit):
        gpu_check.main(["--window", "5"])  # the targets hold for windows >= 10 s


def test_independent_power_log_integrates_a_known_power() -> None:
    nvml = make_fake_nvml([FakeGpu("GPU-22222222-bbbb", profile=constant(250.0))])
    nvml.nvmlInit()
    log = gpu_check.PowerLog(nvml, nvml.nvmlDeviceGetHandleByIndex(0), period=0.01)
    log.start()
    while len(log.t) < 6:  # however slowly a loaded machine runs the thread
        time.sleep(0.01)
    log.stop()
    t0, t1 = log.t[1] + 1e-4, log.t[-2] - 1e-4  # a window inside the samples, on the measured clock
    assert log.joules(t0, t1) == pytest.approx(250.0 * (t1 - t0), rel=1e-9)  # 250 W x measured seconds


@pytest.mark.parametrize(("provenance", "ratio", "short_j", "passed"), [
    ("nvml-energy", 1.009, 0.5, True), ("nvml-energy", 0.989, 0.5, False), ("nvml-energy", 1.0, 0.0, False),
    ("nvml-power-sampled", 1.049, 0.5, True), ("nvml-power-sampled", 1.051, 0.5, False),
])
def test_verdict_applies_the_stated_targets(provenance: str, ratio: float, short_j: float, passed: bool) -> None:
    assert gpu_check.verdict({"provenance": provenance, "ratio_vs_counter": ratio, "short_window_j": short_j})[0] \
        is passed
