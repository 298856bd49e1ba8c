"""Several SLURM steps of one job on one node: the host's RAPL is measured by one of them only."""
from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from greenops_tb.distributed.host_claim import claim_host
from greenops_tb.meters.constant import ConstantPowerSource

HOLD = """
import sys, time
from greenops_tb.distributed.host_claim import claim_host
from greenops_tb.meters.constant import ConstantPowerSource
kept, claim = claim_host([ConstantPowerSource({"cpu:0": 30.0}, label="rapl", scope="host")])
print("claimed" if claim is not None else "not claimed", flush=True)
sys.stdin.readline()
"""


def _env(tmp_path: Path, host: str = "node-a", step: str = "0") -> dict[str, str]:
    return {"SLURM_JOB_ID": "9001", "SLURM_STEP_ID": step, "GREENOPS_HOST_ID": host,
            "GREENOPS_LOCK_DIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def _sources():
    return [ConstantPowerSource({"gpu:0": 200.0}, label="nvml-energy", scope="device"),
            ConstantPowerSource({"cpu:0": 30.0, "ram": 5.0}, label="rapl", scope="host")]


@pytest.fixture
def other_step(tmp_path: Path):
    """Step 0 of the job, a real process on "node-a", holding the host."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD], env=_env(tmp_path), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "claimed"
    yield proc
    proc.stdin.close()
    proc.wait(10)


def test_second_step_on_the_node_drops_host_sources_with_one_warning(tmp_path, other_step) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept, claim = claim_host(_sources(), _env(tmp_path, step="1"))
    assert claim is None and [d.id for s in kept for d in s.devices] == ["gpu:0"], "GPU kept, host left to step 0"
    said = [str(w.message) for w in caught]
    assert len(said) == 1 and f"pid {other_step.pid}" in said[0] and "cpu:0, ram" in said[0]


def test_other_host_or_other_job_measures_its_own(tmp_path, other_step) -> None:
    kept, claim = claim_host(_sources(), _env(tmp_path, host="node-b"))
    assert claim is not None and len(kept) == 2
    claim.release()
    kept, claim = claim_host(_sources(), _env(tmp_path) | {"SLURM_JOB_ID": "9002"})
    assert claim is not None and len(kept) == 2
    claim.release()


def test_holder_gone_frees_the_host(tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLD], env=_env(tmp_path), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "claimed"
    proc.kill()  # a crashed step: the kernel drops its lock
    proc.wait(10)
    time.sleep(0.05)
    kept, claim = claim_host(_sources(), _env(tmp_path, step="2"))
    assert claim is not None and len(kept) == 2
    claim.release()


def test_no_scheduler_job_means_no_claim(tmp_path) -> None:
    kept, claim = claim_host(_sources(), {"GREENOPS_LOCK_DIR": str(tmp_path)})
    assert claim is None and len(kept) == 2 and not list(tmp_path.iterdir())


def test_writer_of_a_second_step_records_its_devices_only(tmp_path, other_step, monkeypatch) -> None:
    from greenops_tb import GreenSummaryWriter
    from greenops_tb.readers.csv import read_records

    for k, v in _env(tmp_path, step="1").items():
        monkeypatch.setenv(k, v)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with GreenSummaryWriter(str(tmp_path / "step1"), country="DE", meters=_sources()) as w:
            with w.stage("train"):
                time.sleep(0.05)
    (rec,) = read_records(tmp_path / "step1" / "green.csv")
    assert set(rec.devices) == {"gpu:0"}, "the host's CPU/RAM are step 0's to count"
    assert any("already measures this host" in str(x.message) for x in caught)
    kept, claim = claim_host(_sources(), _env(tmp_path, step="2"))
    assert claim is None, "step 0 still holds the host; step 1's writer released nothing it did not hold"
