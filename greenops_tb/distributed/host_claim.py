"""One process per host measures the host for a whole job: its ranks, and separately launched steps.

The ranks of a distributed job on one host, and several SLURM steps of one job (``srun`` twice on a
node, each its own process group), would each measure the host's RAPL/hwmon energy: the node counted
N times (codecarbon PR #1390). The process that measures host-level sources first takes an exclusive
``flock`` on a file named after the job and the host identity (in ``$GREENOPS_LOCK_DIR``, else
``/dev/shm``, else the temp dir). Another process of the same job on the same host finds it taken: it
drops its host-level sources and measures its devices only (a rank: logged, as expected; a second
scheduler step: one warning naming the holder). The job is the scheduler's key
(:func:`~greenops_tb.distributed.identity.job_identity`); ranks without one use their run directory
(:meth:`greenops_tb.distributed.shard.RankShard.claim_key`). The kernel releases the lock when the
holder closes its writer or dies, so a crash never leaves the host unmeasured for later writers.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import warnings
from typing import Mapping, Sequence

from greenops_tb.distributed.identity import host_identity, job_identity
from greenops_tb.meters.base import EnergySource

log = logging.getLogger(__name__)
LOCK_ENV = "GREENOPS_LOCK_DIR"


def host_level(source: EnergySource) -> bool:
    """Whether ``source`` measures something shared by the whole host (measured once per host).

    The source's ``scope`` decides (see :attr:`EnergySource.scope`): RAPL is "host", the
    model sources (this process's CPU time and resident memory) "process", NVML "device";
    an undeclared source is host-level unless it only has GPUs.
    """
    scope = source.scope or ("device" if all(d.kind == "gpu" for d in source.devices) else "host")
    return scope == "host"


class HostClaim:
    """An exclusive lock on this host for one job, held until :meth:`release` (or the process ends)."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock


def _lock_dir(env: Mapping[str, str]) -> str:
    if env.get(LOCK_ENV):
        return env[LOCK_ENV]
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


def try_claim(job: str, host: str, env: Mapping[str, str] | None = None) -> tuple[HostClaim | None, str]:
    """(the claim, its file) when this process is the first of ``job`` on ``host``, else (None, file)."""
    env = os.environ if env is None else env
    digest = hashlib.sha1(f"{job}\0{host}".encode()).hexdigest()[:16]
    path = os.path.join(_lock_dir(env), f"greenops_tb-host-{digest}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None, path
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return HostClaim(path, fd), path


def _holder(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip() or "?"
    except OSError:
        return "?"


def claim_host(sources: Sequence[EnergySource], env: Mapping[str, str] | None = None, job: str | None = None
               ) -> tuple[list[EnergySource], HostClaim | None]:
    """``sources`` minus the host-level ones when another process of this job already measures this host.

    ``job``: a rank's job (:meth:`~greenops_tb.distributed.shard.RankShard.claim_key`), where sharing the
    host is expected (logged, no warning); default: the scheduler's job, :func:`job_identity` (none: no claim)."""
    env = os.environ if env is None else env
    expected = job is not None
    job = job or str(job_identity(env).get("key") or "")
    if not job or not any(host_level(s) for s in sources):
        return list(sources), None
    try:
        claim, path = try_claim(str(job), host_identity(env), env)
    except OSError as err:  # no writable lock dir: measure as before
        log.debug("cannot claim the host for job %s: %s", job, err)
        return list(sources), None
    if claim is not None:
        return list(sources), claim
    dropped = [s for s in sources if host_level(s)]
    for s in dropped:
        s.close()
    if expected:
        log.info("job %s: pid %s measures this host's host-level sources; this rank measures its own devices",
                 job, _holder(path))
        return [s for s in sources if not host_level(s)], None
    warnings.warn(
        f"greenops_tb: another process of job {job} (pid {_holder(path)}) already measures this host's "
        f"{', '.join(d.id for s in dropped for d in s.devices)}; this one measures its own devices only, so the "
        "host is counted once", RuntimeWarning, stacklevel=3)
    return [s for s in sources if not host_level(s)], None
