"""Distributed (issue 7): per-boundary cost of job-wide aggregation with 2 gloo ranks on this machine.

    python benchmarks/bench_distributed.py [--quick]   # prints its rows (RESULTS.md: run_all.py)

Two processes started by torchrun join a gloo group. In each, interleaved side by
side: a plain local ``Meter.read()`` (the baseline every boundary pays anyway),
a boundary that exchanges (``start``/``stop``, or every ``update`` with
``flush_every=1``: one gloo ``all_gather``), and ``update`` with ``flush_every=10``.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, Stat, interleave, per_call, row, standalone  # noqa: E402

US = 1e6


def _worker(out: str, rounds: int, n: int) -> None:
    import datetime

    import torch
    import torch.distributed as dist

    from greenops_tb.distributed import JobAggregator, JobMeter
    from greenops_tb.meters.base import Meter
    from greenops_tb.meters.constant import ConstantPowerSource

    dist.init_process_group("gloo", init_method="env://", timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank()
    local = Meter([ConstantPowerSource({"gpu:0": 100.0, "cpu:0": 30.0, "ram": 5.0})])
    every = JobMeter(Meter([ConstantPowerSource({"gpu:0": 100.0, "cpu:0": 30.0, "ram": 5.0})]),
                     JobAggregator(timeout_s=30))
    batched = JobMeter(Meter([ConstantPowerSource({"gpu:0": 100.0, "cpu:0": 30.0, "ram": 5.0})]),
                       JobAggregator(timeout_s=30, flush_every=10))

    def exchange() -> None:
        every.expect("stop", "bench")
        every.read()

    width = 4 + 3  # what one exchange sends: header + 3 devices
    mine, got = torch.zeros(width, dtype=torch.float64), [torch.zeros(width, dtype=torch.float64) for _ in range(2)]

    def bare() -> None:
        dist.all_gather(got, mine)

    def update10() -> None:
        batched.expect("update", "bench")
        batched.read()

    from greenops_tb import GreenSummaryWriter

    def writer(name: str, **kw: object) -> GreenSummaryWriter:
        w = GreenSummaryWriter(os.path.join(os.path.dirname(out), name), country="DE",
                               meters=[ConstantPowerSource({"gpu:0": 100.0, "cpu:0": 30.0, "ram": 5.0})], **kw)
        w.start("train")
        return w

    writers = {"w_single": writer("single", distributed=False), "w_job1": writer("job1"),
               "w_job10": writer("job10", dist_flush_every=10)}

    # same sequence on both ranks, so the collectives pair up
    samples = interleave({"local": lambda: per_call(local.read, n), "exchange": lambda: per_call(exchange, n),
                          "update10": lambda: per_call(update10, n), "bare": lambda: per_call(bare, n),
                          **{k: (lambda w=w: per_call(lambda: w.update("train"), n)) for k, w in writers.items()}},
                         rounds)
    for w in writers.values():
        w.close()
    if rank == 0:
        Path(out).write_text(json.dumps(samples))
    for m in (local, every, batched):
        m.close()
    dist.destroy_process_group()


def run(quick: bool = False) -> list[dict]:
    rounds, n = (5, 50) if quick else (21, 200)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rank0.json")
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               str(_free_port()), str(Path(__file__)), "--worker", out, str(rounds), str(n)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"torchrun failed ({done.returncode}): {done.stderr[-2000:]}")
        m = {k: Stat.of(v, US) for k, v in json.loads(Path(out).read_text()).items()}
    note = (f"2 gloo ranks, one host; meters: constant-power stand-ins (gpu:0 100 W, cpu:0 30 W, ram 5 W); "
            f"{rounds} interleaved batches of {n}")
    return [
        row("distributed, constant-power stand-in meters: boundary with exchange (start/stop, update with "
            "flush_every=1)", m["exchange"], "us",
            baseline="local Meter.read() (the boundary without exchange)", base=m["local"],
            target="< 1000 us on one host", met=m["exchange"].median < 1000, note=note),
        row("distributed: exchange vs a bare gloo all_gather of the same tensor", m["exchange"], "us",
            baseline="bare dist.all_gather, same tensor", base=m["bare"],
            target="bookkeeping small (ratio near 1)", note=note),
        row("distributed: update() with flush_every=10, per boundary", m["update10"], "us",
            baseline="boundary with exchange (flush_every=1)", base=m["exchange"],
            target="about 1/10 of an exchange", met=m["update10"].median <= 0.2 * m["exchange"].median, note=note),
        row("distributed: writer.update() (record, CSV row, event), flush_every=1", m["w_job1"], "us",
            baseline="single-process writer.update()", base=m["w_single"], note=note),
        row("distributed: writer.update(), dist_flush_every=10", m["w_job10"], "us",
            baseline="single-process writer.update()", base=m["w_single"], note=note),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        _worker(argv[1], int(argv[2]), int(argv[3]))
        return 0
    return standalone("distributed", run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
