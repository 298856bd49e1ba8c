"""Real training loops with ``update()`` every step vs plain ``SummaryWriter`` (issue 22), side by side.

* Loops (torch's default intra-op threads): a small CNN (28x28, batch 32; 4.5-6.6 ms/step on a quiet
  2-core machine) and an MLP (784-512-512-10, batch 128; 2.0-2.4 ms/step), each logging
  ``add_scalar(loss)`` every step. Variants, interleaved epoch by epoch in one process (A B C, B C A,
  ...): plain ``SummaryWriter``; ``GreenSummaryWriter`` with a ``train`` stage per epoch and
  ``update("train")`` every step; the same with the stage only. Targets: update() every step
  <= 1.02x (CNN) and <= 1.03x (MLP) plain; stage-only within noise.
* In those loops, the caller's latency of one ``update()`` vs one plain ``add_scalar``: <= 0.5x.
* CPU of all threads per record (background included, drained by ``flush()``), n back-to-back
  calls: <= 1.0x one plain ``add_scalar``.
* Start-up of the whole process (python -c: import torch, the writer, one stage with an update,
  close) vs the same with plain ``SummaryWriter``, median of interleaved pairs: <= +0.10 s; the
  processes' peak RSS beside it.
* A long run's memory: the growth of the process's RSS over 3n records (``update()`` back to back,
  written) after 2n more to warm up (buffers and the allocator reach their high-water mark within
  about 2n; the mark still moves up once now and then, by a few MB, when the records queued at one
  moment peak higher than before: a span of 3n keeps such a step from reading as ~100 bytes a
  record, while a leak grows with the span), against the same with plain ``add_scalar`` calls, each
  in a fresh process: bounded, within 0.1 KB per record of plain's (the events' encoder once kept
  every record's JSON, ~2 KB a record).

    python benchmarks/bench_loop.py [--quick]      # prints its rows (RESULTS.md: run_all.py)
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Stat, interleave, python_env, row, standalone  # noqa: E402

MS, US = 1e3, 1e6
PLAIN = "plain SummaryWriter, add_scalar(loss) each step, same loop"


def make_loop(kind: str) -> Callable[[], Any]:
    """One training step of the named loop (torch's default threads); returns the loss tensor."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    if kind == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
        )
        x = torch.randn(32, 1, 28, 28)
    else:
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        x = torch.randn(128, 784)
    y = torch.randint(0, 10, (x.shape[0],))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> Any:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(20):  # warm up kernels and the allocator
        step()
    return step


class _Variant:
    """One writer kept open across rounds; :meth:`epoch` runs one timed epoch of the loop."""

    def __init__(self, logdir: str, green: bool, per_step: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter

        from greenops_tb import GreenSummaryWriter

        self.w = GreenSummaryWriter(logdir, country="DE") if green else SummaryWriter(logdir)
        self.green, self.per_step = green, per_step
        self.gstep = 0
        self.samples: list[tuple[float, float, float]] = []  # per epoch: wall/step, CPU/step, call latency

    def epoch(self, step: Callable[[], Any], steps: int) -> float:
        w, clock = self.w, time.perf_counter
        calls = 0.0
        c0, t0 = time.process_time(), clock()
        if self.green:
            w.start("train")
        for _ in range(steps):
            loss = step().item()
            a = clock()
            w.add_scalar("loss", loss, self.gstep)
            b = clock()
            if self.per_step:
                w.update("train")
                calls += clock() - b
            else:
                calls += b - a
            self.gstep += 1
        if self.green:
            w.stop("train")
        w.flush()
        wall = (clock() - t0) / steps
        self.samples.append((wall, (time.process_time() - c0) / steps, calls / steps))
        return wall


def loop_rows(kind: str, label: str, limit: float, quick: bool, steps: int = 0, rounds: int = 0) -> list[dict]:
    """The loop's rows; ``steps`` per epoch and ``rounds`` default to the mode's."""
    # 31 rounds of 60 steps: at 15 of 40 the medians of two variants with the same CPU per step still moved
    # apart by up to 4 % (MLP: 1.037x in one run, 0.96x for the stage-only variant in the same run)
    steps, rounds = steps or (10 if quick else 60), rounds or (2 if quick else 31)
    step = make_loop(kind)
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vs = {"plain": _Variant(f"{d}/plain", False, False), "update": _Variant(f"{d}/update", True, True),
              "stage": _Variant(f"{d}/stage", True, False)}
        interleave({k: (lambda v=v: v.epoch(step, steps)) for k, v in vs.items()}, rounds)
        for v in vs.values():
            v.w.close()
    wall = {k: Stat.of([s[0] for s in v.samples], MS) for k, v in vs.items()}
    cpu = {k: Stat.of([s[1] for s in v.samples], MS) for k, v in vs.items()}
    call = {k: Stat.of([s[2] for s in v.samples], US) for k, v in vs.items()}
    note = f"{label}; {rounds} interleaved rounds of one {steps}-step epoch each; torch threads: default"
    up, st = wall["update"], wall["stage"]
    return [
        row(f"{kind}: training step, update() every step", up, "ms", baseline=PLAIN, base=wall["plain"],
            target=f"<= {limit}x plain", met=up.median <= limit * wall["plain"].median, note=note),
        row(f"{kind}: training step, stage per epoch only", st, "ms", baseline=PLAIN, base=wall["plain"],
            target="within noise", met=st.median <= wall["plain"].median or st.lo <= wall["plain"].hi, note=note),
        row(f"{kind}: training step CPU of all threads, update() every step", cpu["update"], "ms CPU",
            baseline=PLAIN, base=cpu["plain"], note=note),
        row(f"{kind}: update() caller latency in the loop", call["update"], "us",
            baseline="one plain SummaryWriter.add_scalar in the same loop", base=call["plain"],
            target="<= 0.5x plain add_scalar", met=call["update"].median <= 0.5 * call["plain"].median, note=note),
    ]


def cpu_per_record_rows(quick: bool) -> list[dict]:
    """n back-to-back calls then flush(): the caller's latency and process CPU (every thread) per call."""
    from torch.utils.tensorboard import SummaryWriter

    from greenops_tb import GreenSummaryWriter

    n, rounds = (200, 3) if quick else (1000, 11)
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain, green = SummaryWriter(f"{d}/plain"), GreenSummaryWriter(f"{d}/green", country="DE")
        green.start("train")
        gstep = iter(range(10**9))
        cases = {"plain": lambda: plain.add_scalar("loss", 0.5, next(gstep)), "update": lambda: green.update("train")}
        writers = {"plain": plain, "update": green}
        latency: dict[str, list[float]] = {k: [] for k in cases}

        def sample(key: str) -> Callable[[], float]:
            def one() -> float:
                fn, c0, t0 = cases[key], time.process_time(), time.perf_counter()
                for _ in range(n):
                    fn()
                latency[key].append((time.perf_counter() - t0) / n)
                writers[key].flush()
                return (time.process_time() - c0) / n
            return one

        s = interleave({k: sample(k) for k in cases}, rounds)
        green.close()
        plain.close()
    v, b = Stat.of(s["update"], US), Stat.of(s["plain"], US)
    lv, lb = Stat.of(latency["update"], US), Stat.of(latency["plain"], US)
    base, note = "one plain SummaryWriter.add_scalar, same process", f"{rounds} interleaved rounds of {n} calls"
    return [row("update() caller latency, back to back", lv, "us", baseline=base, base=lb,
                target="<= 0.5x plain add_scalar", met=lv.median <= 0.5 * lb.median, note=note),
            row("CPU of all threads per record: update() with its CSV row + event", v, "us CPU", baseline=base,
                base=b, target="<= 1.0x plain add_scalar", met=v.median <= b.median,
                note=f"{note}, then flush() (drained)")]


_CHILD = """
import json, resource, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
import torch
t0 = time.perf_counter()
d = tempfile.mkdtemp()
if sys.argv[1] == "green":
    from greenops_tb import GreenSummaryWriter
    w = GreenSummaryWriter(d, country="DE"); w.start("train"); w.add_scalar("loss", 0.5, 0); w.update("train")
    w.stop("train")
else:
    from torch.utils.tensorboard import SummaryWriter
    w = SummaryWriter(d); w.add_scalar("loss", 0.5, 0)
w.close()
print(json.dumps({"after_torch_s": time.perf_counter() - t0,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _process(which: str, out: dict[str, list], pycache: str) -> float:
    """One fresh process; bytecode cached (under ``pycache``) as an installed package has it."""
    env = {k: v for k, v in python_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, which], capture_output=True, text=True, check=True, env=env)
    wall = time.perf_counter() - t0
    got = json.loads(proc.stdout.splitlines()[-1])
    out[which].append((wall, got["maxrss_kib"] / 1024, got["after_torch_s"]))
    return wall


def startup_rows(quick: bool) -> list[dict]:
    pairs = 2 if quick else 7
    out: dict[str, list] = {"plain": [], "green": []}
    with tempfile.TemporaryDirectory() as pycache:
        for k in out:  # warm-up: writes the bytecode both will read
            _process(k, {k: []}, pycache)
        interleave({k: (lambda k=k: _process(k, out, pycache)) for k in out}, pairs)
    delta = Stat.of([g[0] - p[0] for g, p in zip(out["green"], out["plain"])])
    wall = {k: Stat.of([x[0] for x in v]) for k, v in out.items()}
    inner = {k: Stat.of([x[2] for x in v]) for k, v in out.items()}
    rss = {k: Stat.of([x[1] for x in v]) for k, v in out.items()}
    note = f"{pairs} interleaved pairs of fresh processes (python -c: import torch, writer, one stage with an update)"
    return [
        row("start-up, whole process: GreenSummaryWriter", wall["green"], "s", baseline="the same with plain "
            "SummaryWriter", base=wall["plain"], target="<= +0.10 s", met=delta.median <= 0.10,
            note=f"{note}; median difference of pairs {delta.median * 1e3:+.0f} ms"),
        row("start-up after import torch (same processes): GreenSummaryWriter", inner["green"], "s",
            baseline="the same with plain SummaryWriter", base=inner["plain"], target="<= +0.10 s",
            met=inner["green"].median - inner["plain"].median <= 0.10,
            note=f"{note}; difference of medians {(inner['green'].median - inner['plain'].median) * 1e3:+.0f} ms"),
        row("peak RSS, whole process: GreenSummaryWriter", rss["green"], "MiB", baseline="the same with plain "
            "SummaryWriter", base=rss["plain"], note=note),
    ]


_LONG_RUN = """
import gc, json, sys, tempfile, warnings
warnings.simplefilter("ignore")
import psutil
from torch.utils.tensorboard import SummaryWriter
from greenops_tb import GreenSummaryWriter
n, span, d = int(sys.argv[2]), int(sys.argv[3]), tempfile.mkdtemp()
if sys.argv[1] == "green":
    w = GreenSummaryWriter(d, country="DE"); w.start("train"); call = lambda i: w.update("train")
else:
    w = SummaryWriter(d); call = lambda i: w.add_scalar("loss", 0.5, i)
proc = psutil.Process()
for i in range(2 * n):  # warm: caches, layouts, and buffers and the allocator at their high-water mark
    call(i)
w.flush(); gc.collect(); before = proc.memory_info().rss
for i in range(2 * n, 2 * n + span):
    call(i)
w.flush(); gc.collect()
print(json.dumps({"grown_bytes": proc.memory_info().rss - before}))
w.close()
"""


def long_run_memory_rows(quick: bool) -> list[dict]:
    n, rounds = (5_000, 1) if quick else (40_000, 3)
    span = 3 * n  # a leak grows with it; the allocator's high-water mark moving up once (the peak queue) does not

    def grown(which: str) -> float:
        proc = subprocess.run([sys.executable, "-c", _LONG_RUN, which, str(n), str(span)], capture_output=True,
                              text=True, check=True, env=python_env())
        return json.loads(proc.stdout.splitlines()[-1])["grown_bytes"] / span

    s = interleave({"plain": lambda: grown("plain"), "green": lambda: grown("green")}, rounds)
    g, p = Stat.of(s["green"]), Stat.of(s["plain"])
    return [row(f"long run: RSS growth per record over {span:,} records", g, "bytes", target="<= plain + 100 bytes",
                met=g.median <= p.median + 100,
                note=f"{rounds} interleaved pairs of fresh processes; after {2 * n:,} records to warm up, update() back "
                f"to back, then flush(); plain SummaryWriter, {span:,} add_scalar calls alike: {p.median:.0f} bytes "
                "per call (a ratio to it has no meaning: it is about 0)")]


def run(quick: bool = False) -> list[dict]:
    return [*loop_rows("cnn", "small CNN 28x28, batch 32", 1.02, quick),
            *loop_rows("mlp", "MLP 784-512-512-10, batch 128", 1.03, quick),
            *cpu_per_record_rows(quick), *startup_rows(quick), *long_run_memory_rows(quick)]


def main() -> int:
    return standalone("loop", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
