"""Runs a function in N real processes joined by a gloo process group (used by the distributed tests).

``spawn(script_args, world)`` starts ``python <script> <args> <rank> <world> <port>`` once per rank,
waits with a deadline, and returns each rank's exit code, stdout and stderr.
"""
from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class RankResult:
    rank: int
    returncode: int | None  # None: still running at the deadline (killed)
    stdout: str
    stderr: str
    seconds: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(script: str | Path, args: list[str], world: int = 2, deadline_s: float = 60.0,
          env: dict[str, str] | None = None) -> list[RankResult]:
    port = free_port()
    procs = []
    t0 = time.perf_counter()
    for rank in range(world):
        penv = dict(os.environ, **(env or {}))
        penv.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
                    MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), PYTHONPATH=str(REPO))
        procs.append(subprocess.Popen([sys.executable, str(script), *args], env=penv, cwd=str(REPO),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results: list[RankResult] = []
    for rank, p in enumerate(procs):
        left = max(0.1, deadline_s - (time.perf_counter() - t0))
        try:
            out, err = p.communicate(timeout=left)
            code: int | None = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            code = None
        results.append(RankResult(rank, code, out, err, time.perf_counter() - t0))
    return results


def init_group(timeout_s: float = 30.0) -> None:
    """In a worker: join the gloo group described by the environment."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method="env://", timeout=datetime.timedelta(seconds=timeout_s))


def fork_ranks(world: int, fn, rank_env, deadline_s: float = 60.0, after_fork=None) -> list[int | None]:
    """Run ``fn(rank)`` in ``world`` processes forked from this one (imports already paid), joined by env://.

    ``rank_env(rank)`` gives each rank's extra environment; ``after_fork()`` runs in this process once
    every rank is forked (e.g. to start threads: call this before starting any). Returns each rank's
    exit code (None: killed at the deadline).
    """
    import signal
    import traceback

    port = free_port()
    pids = []
    for rank in range(world):
        pid = os.fork()
        if pid == 0:  # the rank
            code = 1
            try:
                os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                                  MASTER_PORT=str(port), **rank_env(rank))
                fn(rank)
                code = 0
            except BaseException:  # noqa: BLE001 - reported on stderr, exit code says it
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        pids.append(pid)
    if after_fork is not None:
        after_fork()
    codes: dict[int, int | None] = {}
    end = time.perf_counter() + deadline_s
    while len(codes) < world and time.perf_counter() < end:
        for pid in pids:
            if pid not in codes:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    codes[pid] = os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    for pid in pids:
        if pid not in codes:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            codes[pid] = None
    return [codes[p] for p in pids]
