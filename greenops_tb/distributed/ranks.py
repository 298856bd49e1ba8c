"""Where this process sits in a distributed job.

Sources, in order of trust:

1. an initialised default ``torch.distributed`` process group (rank, world size);
2. torchrun / ``torch.distributed.launch`` variables: ``RANK``, ``LOCAL_RANK``,
   ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``GROUP_RANK``;
3. SLURM variables: ``SLURM_PROCID``, ``SLURM_LOCALID``, ``SLURM_NTASKS``,
   ``SLURM_NTASKS_PER_NODE``, ``SLURM_NODEID``.

The host is ``socket.gethostname()``. No rank learns about the others: which process measures a
host's host-level sources is decided locally (:mod:`greenops_tb.distributed.host_claim`).
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Mapping

from greenops_tb.errors import UsageError


_TORCHRUN = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK")
_SLURM = ("SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_NTASKS_PER_NODE", "SLURM_NODEID")


@dataclass(frozen=True, slots=True)
class RankInfo:
    """This process's place in the job."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    node_rank: int  # GROUP_RANK / SLURM_NODEID; -1 when unknown
    host: str
    source: str  # "process-group", "torchrun-env", "slurm-env" or "single-process"
    initialized: bool  # a default process group exists, so collectives are possible

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_rank_zero(self) -> bool:
        return self.rank == 0

    def device_id(self, local_id: str) -> str:
        """The job-wide id of one of this rank's devices: ``r<rank>/<id>``."""
        return prefix_device_id(self.rank, local_id)


def prefix_device_id(rank: int, local_id: str) -> str:
    return f"r{rank}/{local_id}"


def split_device_id(device_id: str) -> tuple[int | None, str]:
    """``"r1/gpu:0"`` -> ``(1, "gpu:0")``; an unprefixed id -> ``(None, id)``."""
    head, sep, rest = device_id.partition("/")
    if sep and head[:1] == "r" and head[1:].isdigit():
        return int(head[1:]), rest
    return None, device_id


def rank_gpu(local_index: int, local_count: int, device_count: int, current: int | None) -> int | None:
    """The CUDA index this rank uses, or None when GPUs cannot be told apart per rank.

    ``local_index`` / ``local_count``: this rank's place among the ranks on its host;
    ``current``: ``torch.cuda.current_device()`` once CUDA is initialised, else None
    (then torchrun's convention, one GPU per local rank, is assumed). None when the
    host has no GPUs or more ranks than GPUs: the host's local rank 0 then measures
    every GPU, so none is counted twice.
    """
    if device_count == 0 or local_count > device_count:
        return None
    return current if current is not None else local_index


def cuda_state() -> tuple[int, int | None]:
    """(visible CUDA devices, current device or None when CUDA is not initialised yet)."""
    import torch

    if not torch.cuda.is_available():
        return 0, None
    return torch.cuda.device_count(), (torch.cuda.current_device() if torch.cuda.is_initialized() else None)


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    head = value.split("(")[0].split(",")[0]  # SLURM_NTASKS_PER_NODE may read "2(x3)" or "2,1"
    try:
        return int(head)
    except ValueError:
        raise UsageError(f"environment variable {name}={value!r} is not an integer; fix or unset it") from None


def _from_env(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[int, int, int, int, int] | None:
    rank, local, world, local_world, node = (_int(env, n) for n in names)
    if rank is None or world is None:
        return None
    return (
        rank,
        world,
        local if local is not None else rank,
        local_world if local_world is not None else world,
        node if node is not None else -1,
    )


def detect(env: Mapping[str, str] | None = None) -> RankInfo:
    """Rank, world size and host of this process (a single process when nothing says otherwise)."""
    env = os.environ if env is None else env
    host = socket.gethostname()
    from_env = _from_env(env, _TORCHRUN)
    source = "torchrun-env"
    if from_env is None:
        from_env = _from_env(env, _SLURM)
        source = "slurm-env"
    initialized = _pg_initialized()
    if initialized:
        import torch.distributed as dist

        rank, world = dist.get_rank(), dist.get_world_size()
        local, local_world, node = (from_env[2:] if from_env and from_env[:2] == (rank, world) else (rank, world, -1))
        return RankInfo(rank, world, local, local_world, node, host, "process-group", True)
    if from_env is None:
        return RankInfo(0, 1, 0, 1, -1, host, "single-process", False)
    rank, world, local, local_world, node = from_env
    if not 0 <= rank < world:
        raise UsageError(f"rank {rank} is outside world size {world} ({source}); check the launcher's variables")
    return RankInfo(rank, world, local, local_world, node, host, source, False)


def _pg_initialized() -> bool:
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch without distributed support
        return False
    return dist.is_available() and dist.is_initialized()
