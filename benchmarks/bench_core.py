"""Core overheads, measured side by side in one run (2-core noisy machine: medians, interleaved rounds).

* stage enter+exit, measurement only (meter reads, accounting, record built; no sinks): target <= 15 us median
* one ``update()`` with its CSV row and event vs one plain ``SummaryWriter.add_scalar``: target <= 1.2x,
  as the caller's latency AND as CPU time of all threads (the event file's flush thread writes in the background)
* one stage window with logging (start + stop -> record -> CSV row + event, flush thread woken), same measures
* ``add_scalar`` through GreenSummaryWriter vs plain SummaryWriter (issue 8 stretch: faster)
* ``import greenops_tb`` + ``GreenSummaryWriter()`` + first stage, beyond importing torch (subprocesses): <= 0.2 s

    python benchmarks/bench_core.py [--quick]      # prints its rows (RESULTS.md: run_all.py)
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Stat, interleave, row, stage_window_samples_us, standalone  # noqa: E402


def bench_stage(quick: bool) -> dict:
    from greenops_tb.grid import resolve_grid
    from greenops_tb.meters.base import Meter
    from greenops_tb.meters.select import default_sources
    from greenops_tb.recording.stages import Pricing, Stages
    from greenops_tb.recording.watch import Watches

    grid = resolve_grid("DE")
    p = grid.profile
    meter = Meter(default_sources())
    pricing = Pricing("bench", 1.0, p.price_per_kwh, p.currency, p.price_source, p.zone, p.location_source)
    stages = Stages(meter, grid.current, pricing, Watches(), lambda rec, closing: None)
    n, rounds = (100, 5) if quick else (500, 10)
    batches = [statistics.median(stage_window_samples_us(stages, n)) for _ in range(rounds)]
    meter.close()
    med = Stat.of(batches)
    return row("stage enter+exit (measurement only)", med, "us", target="<= 15 us median", met=med.median <= 15,
               note=f"median of {rounds} batch medians of {n} windows; default meters (model CPU + RAM), "
               "record built, no sinks")


def _latency_and_cpu_us(fn, n: int, drain) -> tuple[float, float]:
    """Mean wall time per call (the caller's latency) and process CPU time per call (every thread, incl.
    background writers), over n calls followed by ``drain()`` (so pending background writes are counted)."""
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    t1 = time.perf_counter()
    drain()
    return (t1 - t0) / n * 1e6, (time.process_time() - c0) / n * 1e6


def bench_update(quick: bool) -> list[dict]:
    from torch.utils.tensorboard import SummaryWriter

    from greenops_tb import GreenSummaryWriter

    n = 200 if quick else 1000
    rounds = 5 if quick else 15
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = SummaryWriter(os.path.join(d, "plain"))
        green = GreenSummaryWriter(os.path.join(d, "green"), country="DE", watch={"loss": lambda: 0.5})
        green.start("train")
        step = iter(range(10**9))

        def window() -> None:
            green.start("window")
            green.stop("window")

        cases = {
            "plain": (lambda: plain.add_scalar("loss", 0.5, next(step)), plain.flush),  # noqa: E731
            "update": (lambda: green.update("train"), green.flush),  # noqa: E731
            "window": (window, green.flush),
            "green_add_scalar": (lambda: green.add_scalar("loss", 0.5, next(step)), green.flush),  # noqa: E731
        }
        pairs: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}

        def sampler(name: str):
            def one() -> float:
                fn, drain = cases[name]
                pairs[name].append(_latency_and_cpu_us(fn, n, drain))
                return pairs[name][-1][0]
            return one

        interleave({k: sampler(k) for k in cases}, rounds)  # A B C D, B C D A, ...
        green.close()
        plain.close()
    lat = {k: Stat.of([p[0] for p in v]) for k, v in pairs.items()}
    cpu = {k: Stat.of([p[1] for p in v]) for k, v in pairs.items()}
    note = (f"interleaved {rounds} rounds x {n} calls; CPU = process time of all threads incl. each writer's "
            "background work, drained")
    base = "one plain SummaryWriter.add_scalar, same process"
    rows = []
    for key, label, limit in (
        ("update", "update() with CSV row + event", 1.2),
        ("window", "stage window (start+stop) with CSV row + event", 1.2),
        ("green_add_scalar", "add_scalar through GreenSummaryWriter", 1.0),
    ):
        target = f"<= {limit}x plain add_scalar" + (" (stretch: faster)" if limit == 1.0 else "")
        for measure, stats in (("call latency", lat), ("CPU per call", cpu)):
            v, b = stats[key], stats["plain"]
            rows.append(row(f"{label}: {measure}", v, "us", baseline=base, base=b, target=target,
                            met=v.median <= limit * b.median, note=note))
    return rows


_IMPORT = """
import sys, time, tempfile, warnings
warnings.simplefilter("ignore")
import torch
t0 = time.perf_counter()
{body}
print(time.perf_counter() - t0)
"""
_GREEN = ("import greenops_tb\nw = greenops_tb.GreenSummaryWriter(tempfile.mkdtemp(), country='DE')\n"
          "w.start('train'); w.stop('train')")
_PLAIN = "from torch.utils.tensorboard import SummaryWriter\nw = SummaryWriter(tempfile.mkdtemp()); w.flush()"


def _subprocess_s(body: str) -> float:
    out = subprocess.run([sys.executable, "-c", _IMPORT.format(body=body)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def bench_startup(quick: bool) -> list[dict]:
    reps = 1 if quick else 5
    s = interleave({"plain": lambda: _subprocess_s(_PLAIN), "green": lambda: _subprocess_s(_GREEN)}, reps)
    val, base = Stat.of(s["green"]), Stat.of(s["plain"])
    return [
        row("import + GreenSummaryWriter() + first stage, after import torch", val, "s",
            baseline="import torch.utils.tensorboard + SummaryWriter() + flush, after import torch", base=base,
            target="<= 0.2 s", met=val.median <= 0.2,
            note=f"fresh subprocess each, {reps} interleaved pairs; greenops_tb costs "
            f"{(val.median - base.median) * 1e3:+.0f} ms over plain SummaryWriter"),
    ]


def run(quick: bool = False) -> list[dict]:
    return [bench_stage(quick), *bench_update(quick), *bench_startup(quick)]


def main() -> int:
    return standalone("core", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
