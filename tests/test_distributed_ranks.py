"""Rank detection from torchrun/SLURM variables, device id prefixes, per-rank/per-host breakdown (no processes)."""
from __future__ import annotations

import socket

import pytest

from greenops_tb.distributed import detect, energy_by_host, energy_by_rank, prefix_device_id, split_device_id
from greenops_tb.distributed.shard import attach
from greenops_tb.format.schema import DeviceEnergy


def test_single_process_without_launcher() -> None:
    info = detect({})
    assert (info.rank, info.world_size, info.source, info.distributed, info.initialized) == (
        0, 1, "single-process", False, False)
    assert info.host == socket.gethostname()


def test_torchrun_variables() -> None:
    info = detect({"RANK": "5", "LOCAL_RANK": "1", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4", "GROUP_RANK": "1"})
    assert (info.rank, info.local_rank, info.world_size, info.local_world_size, info.node_rank) == (5, 1, 8, 4, 1)
    assert info.source == "torchrun-env" and info.distributed and not info.is_rank_zero
    assert info.device_id("gpu:1") == "r5/gpu:1"


def test_slurm_variables_and_torchrun_precedence() -> None:
    slurm = {"SLURM_PROCID": "3", "SLURM_LOCALID": "1", "SLURM_NTASKS": "4", "SLURM_NTASKS_PER_NODE": "2(x2)",
             "SLURM_NODEID": "1"}
    info = detect(slurm)
    assert (info.rank, info.local_rank, info.world_size, info.local_world_size, info.node_rank, info.source) == (
        3, 1, 4, 2, 1, "slurm-env")
    both = detect({**slurm, "RANK": "0", "WORLD_SIZE": "2"})
    assert (both.rank, both.world_size, both.source) == (0, 2, "torchrun-env")


@pytest.mark.parametrize("env, words", [
    ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK='x' is not an integer"),
    ({"RANK": "2", "WORLD_SIZE": "2"}, "outside world size 2"),
])
def test_bad_launcher_variables_are_clear_errors(env: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        detect(env)


def test_attach_from_the_launcher_variables_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """No process group needed: the launcher's variables name the rank, and the shard its files."""
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    shard = attach(None)
    assert shard is not None and shard.rank == 1 and not shard.owns_user_events
    assert shard.file_suffix == ".rank1"
    assert shard.csv_path("/logs/job", None) == "/logs/job/green.rank1.csv"
    assert shard.csv_path("/logs/job", "/data/energy.csv") == "/data/energy.rank1.csv"
    assert shard.metadata_extra()["shard"]["world_size"] == 2
    assert attach(False) is None
    with pytest.raises(ValueError, match="None .automatic., True or False"):
        attach("yes")  # type: ignore[arg-type]
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert attach(None) is None
    with pytest.raises(ValueError, match="not one rank of several"):
        attach(True)


def test_device_ids_and_breakdown() -> None:
    assert prefix_device_id(12, "gpu:3") == "r12/gpu:3"
    assert split_device_id("r12/gpu:3") == (12, "gpu:3")
    assert split_device_id("gpu:3") == (None, "gpu:3")
    assert split_device_id("rack/x") == (None, "rack/x")
    devices = {
        "r0/cpu:0": DeviceEnergy("cpu", 1.0, "rapl"),
        "r0/gpu:0": DeviceEnergy("gpu", 2.0, "nvml-energy"),
        "r1/gpu:1": DeviceEnergy("gpu", 4.0, "nvml-energy"),
        "r2/gpu:0": DeviceEnergy("gpu", 8.0, "nvml-energy"),
    }
    assert energy_by_rank(devices) == {0: 3.0, 1: 4.0, 2: 8.0}
    extra = {"ranks": [{"rank": 0, "host": "a"}, {"rank": 1, "host": "a"}, {"rank": 2, "host": "b"}]}
    assert energy_by_host(devices, extra) == {"a": 7.0, "b": 8.0}
    assert energy_by_host(devices, {}) == {"rank 0": 3.0, "rank 1": 4.0, "rank 2": 8.0}
    assert energy_by_rank({"ram": DeviceEnergy("ram", 0.5, "model-rss")}) == {0: 0.5}


@pytest.mark.parametrize("local_index, local_count, devices, current, want", [
    (1, 2, 2, None, 1),  # torchrun convention: local rank k uses cuda:k
    (1, 2, 4, 3, 3),  # the device the rank selected wins
    (0, 2, 0, None, None),  # no GPUs
    (1, 4, 2, None, None),  # more ranks than GPUs on the host: measured once, by the lowest rank
])
def test_rank_gpu(local_index: int, local_count: int, devices: int, current: int | None, want: int | None) -> None:
    from greenops_tb.distributed.ranks import rank_gpu

    assert rank_gpu(local_index, local_count, devices, current) == want
