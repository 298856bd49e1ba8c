"""One process per host measures the host for a whole scheduler job, across separately launched steps.

Several SLURM steps of one job (``srun`` twice on a node, each its own process group) each have a
"lowest rank on this host", so each would measure the host's RAPL/hwmon energy: the node counted N
times (codecarbon PR #1390). Under a scheduler job (:func:`~greenops_tb.distributed.identity.job_identity`
has a key), the process that measures host-level sources first takes an exclusive ``flock`` on a file
named after the job and the host identity (in ``$GREENOPS_LOCK_DIR``, else ``/dev/shm``, else the temp
dir). Another process of the same job on the same host finds it taken: it drops its host-level sources
(one warning naming the holder) and measures its devices only. The kernel releases the lock when the
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

from greenops_tb.distributed.exchange import host_level
from greenops_tb.distributed.identity import host_identity, job_identity
from greenops_tb.meters.base import EnergySource

log = logging.getLogger(__name__)
LOCK_ENV = "GREENOPS_LOCK_DIR"


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


def claim_host(sources: Sequence[EnergySource], env: Mapping[str, str] | None = None
               ) -> tuple[list[EnergySource], HostClaim | None]:
    """``sources`` minus the host-level ones when another process of this job already measures this host."""
    env = os.environ if env is None else env
    job = job_identity(env).get("key")
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
    warnings.warn(
        f"greenops_tb: another process of job {job} (pid {_holder(path)}) already measures this host's "
        f"{', '.join(d.id for s in dropped for d in s.devices)}; this one measures its own devices only, so the "
        "host is counted once", RuntimeWarning, stacklevel=3)
    return [s for s in sources if not host_level(s)], None
