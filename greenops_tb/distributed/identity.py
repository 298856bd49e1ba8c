"""Which job a run belongs to, and which physical host a rank runs on.

* :func:`job_identity`: the scheduler's job identity for ``RunMetadata.extra["job"]``, so runs of one job
  group together: SLURM (``SLURM_JOB_ID``, array job and task, step, name, node list, node count) and
  torchrun/TorchElastic (``TORCHELASTIC_RUN_ID``, restart count); ``key`` is one string per job
  (``slurm:<job>``, ``slurm:<array job>_<task>``, ``torchrun:<run id>``; ``GREENOPS_JOB_ID`` overrides).
* :func:`host_identity`: what makes ranks "the same host" for host-level sources (RAPL, hwmon), so a host
  is measured once even when its ranks see different host names (containers, a per-rank UTS namespace):
  ``GREENOPS_HOST_ID`` if set, else the kernel's boot id (``/proc/sys/kernel/random/boot_id``: random per
  boot, shared by every container on that kernel), else ``/etc/machine-id`` (can be baked into container
  images, so it comes second), else the host name.
"""
from __future__ import annotations

import os
import socket
from typing import Mapping

HOST_ENV = "GREENOPS_HOST_ID"
JOB_ENV = "GREENOPS_JOB_ID"
HOST_FILES = ("/proc/sys/kernel/random/boot_id", "/etc/machine-id")
_SLURM = {
    "job_id": "SLURM_JOB_ID", "array_job_id": "SLURM_ARRAY_JOB_ID", "array_task_id": "SLURM_ARRAY_TASK_ID",
    "step_id": "SLURM_STEP_ID", "job_name": "SLURM_JOB_NAME", "nodelist": "SLURM_JOB_NODELIST",
    "num_nodes": "SLURM_JOB_NUM_NODES", "cluster": "SLURM_CLUSTER_NAME",
}
_TORCHRUN = {"run_id": "TORCHELASTIC_RUN_ID", "restart_count": "TORCHELASTIC_RESTART_COUNT"}


def job_identity(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """The job this process belongs to (empty when no scheduler or launcher says)."""
    env = os.environ if env is None else env
    slurm = {k: env[v] for k, v in _SLURM.items() if env.get(v)}
    if "nodelist" not in slurm and env.get("SLURM_NODELIST"):
        slurm["nodelist"] = env["SLURM_NODELIST"]  # older SLURM
    torchrun = {k: env[v] for k, v in _TORCHRUN.items() if env.get(v)}
    if torchrun.get("run_id") == "none":  # torchrun's default without --rdzv-id
        del torchrun["run_id"]
    out: dict[str, object] = {}
    if env.get(JOB_ENV):
        out["key"] = env[JOB_ENV]
    elif "array_job_id" in slurm and "array_task_id" in slurm:
        out["key"] = f"slurm:{slurm['array_job_id']}_{slurm['array_task_id']}"
    elif "job_id" in slurm:
        out["key"] = f"slurm:{slurm['job_id']}"
    elif "run_id" in torchrun:
        out["key"] = f"torchrun:{torchrun['run_id']}"
    if slurm:
        out["slurm"] = slurm
    if torchrun:
        out["torchrun"] = torchrun
    return out


def job_extra(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """``RunMetadata.extra`` of a single-process run: ``{"job": ...}`` under a scheduler, else empty."""
    ident = job_identity(env)
    return {"job": ident} if ident else {}


def host_identity(env: Mapping[str, str] | None = None, files: tuple[str, ...] = HOST_FILES) -> str:
    """This physical host's identity (see the module docstring for the order)."""
    env = os.environ if env is None else env
    if env.get(HOST_ENV):
        return env[HOST_ENV]
    for path in files:
        try:
            with open(path, encoding="ascii") as f:
                value = f.read().strip()
        except OSError:
            continue
        if value:
            return f"{os.path.basename(path)}:{value}"
    return f"hostname:{socket.gethostname()}"


def ranks_by(values: list[str]) -> dict[str, list[int]]:
    """``{value: [ranks]}`` for a per-rank list (host names, host ids), in rank order."""
    out: dict[str, list[int]] = {}
    for rank, value in enumerate(values):
        out.setdefault(value, []).append(rank)
    return out
