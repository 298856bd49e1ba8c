"""Logdirs written by GreenSummaryWriter (a real torch loop) and the Green tab served over them.

Shared by the plugin's route, TensorBoard-process and browser tests.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

from training import train

from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.recording.totals import RunTotals

XSS_RUN = "<img src=x onerror=alert(1)>"


def write_run(logdir: Path, name: str, *, steps: int = 24, eval_every: int = 8, country: str = "DE",
              watts: dict[str, float] | None = None, pue: float = 1.2) -> RunTotals:
    """A real run with known power (``watts``); returns ``writer.totals()``: what the Green tab must show."""
    meters = [ConstantPowerSource(watts or {"cpu:0": 45.0, "ram": 6.0}, label="model-test")]
    return train(logdir / name, steps=steps, eval_every=eval_every, country=country, pue=pue, meters=meters).totals


def write_job(logdir: Path, name: str, *, ranks: int = 2, steps: int = 6) -> list[RunTotals]:
    """A distributed job of ``ranks`` rank shards in ``logdir/name``, written by real writers in this process
    (each from its own launcher variables; rank 0 measures the host); returns each rank's ``totals()``."""
    import pytest

    from greenops_tb import GreenSummaryWriter

    writers = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GREENOPS_LOCK_DIR", str(logdir))
        for rank in range(ranks):
            mp.setenv("RANK", str(rank))
            mp.setenv("WORLD_SIZE", str(ranks))
            meters = [ConstantPowerSource({"gpu:0": 100.0 + 10 * rank}, label="model-test", scope="device"),
                      ConstantPowerSource({"cpu:0": 45.0, "ram": 6.0}, label="model-test", scope="host")]
            writers.append(GreenSummaryWriter(str(logdir / name), country="DE", meters=meters))
    for w in writers:
        w.start("train")
    for step in range(steps):
        time.sleep(0.002)
        for w in writers:
            w.update("train", step=step, samples=4)
    for w in writers:
        w.close()
    return [w.totals() for w in writers]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TensorBoardProcess:
    """A real ``tensorboard`` serving ``logdir`` on a free loopback port; stop() ends it."""

    def __init__(self, logdir: Path, *, load_fast: bool, extra: tuple[str, ...] = (),
                 python: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("tensorboard") if python is None else None
        cmd = [exe] if exe else [python or sys.executable, "-m", "tensorboard.main"]
        cmd += ["--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(self.port),
                "--load_fast", "true" if load_fast else "false", "--reload_interval", "1", *extra]
        self.log = open(logdir.parent / f"tensorboard-{self.port}.log", "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd,
                                     env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"})

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def wait_for(self, path: str, ok: Callable[[bytes], bool], timeout: float = 60.0) -> bytes:
        """Poll ``path`` until ``ok(body)``; fails with TensorBoard's log if it never happens."""
        deadline = time.monotonic() + timeout
        last = b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tensorboard exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status, last = self.get(path, timeout=5)
                if status == 200 and ok(last):
                    return last
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {path}; last body {last[:300]!r}\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.log.closed:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def parse_quantity(text: str) -> tuple[float, str]:
    """``'2.107 Wh'`` -> (2.107, 'Wh'), as the dashboard formats numbers."""
    m = re.match(r"^\s*(-?[0-9.]+(?:e-?\d+)?)\s*(\S*)", text)
    assert m, f"not a number with a unit: {text!r}"
    return float(m.group(1)), m.group(2)


def bench_run(bench_dir: Path) -> None:
    """A small inference bench (two variants of a real MLP, constant power) in ``bench_dir``."""
    import torch

    from greenops_tb import ConstantPowerSource, InferenceBench

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).eval()
    bench = InferenceBench(bench_dir, country="DE", meters=lambda: [ConstantPowerSource({"cpu:0": 10.0})])
    bench.add("a", lambda x: mlp(x).detach(), torch.randn(1, 8)).add("b", lambda x: (mlp(x) * 2).detach(), torch.randn(1, 8))
    bench.run(requests=10, rounds=2, warmup=1)
