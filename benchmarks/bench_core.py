"""Core overheads, measured side by side in one run (2-core noisy machine: medians, interleaved rounds).

* stage enter+exit, measurement only (meter reads, accounting, record built; no sinks): target <= 15 us median
* one ``update()`` with its CSV row and event vs one plain ``SummaryWriter.add_scalar``: target <= 1.2x,
  as the caller's latency AND as CPU time of all threads (the event file's flush thread writes in the background)
* one stage window with logging (start + stop -> record -> CSV row + event, flush thread woken), same measures
* ``add_scalar`` through GreenSummaryWriter vs plain SummaryWriter (issue 8 stretch: faster)
* ``import greenops_tb`` + ``GreenSummaryWriter()`` + first stage, beyond importing torch (subprocesses): <= 0.2 s

    python benchmarks/bench_core.py [--quick]      # prints a table, writes benchmarks/results/core.json
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

from common import stage_window_samples_us, standalone  # noqa: E402


def _per_call_us(fn, n: int) -> float:
    """Median over 5 batches of n calls of the mean time per call, in microseconds."""
    out = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(out)


def bench_stage(quick: bool) -> dict:
    from greenops_tb.grid import resolve_grid
    from greenops_tb.meters.base import Meter
    from greenops_tb.meters.select import default_sources
    from greenops_tb.stages import Pricing, Stages
    from greenops_tb.watch import Watches

    grid = resolve_grid("DE")
    p = grid.profile
    meter = Meter(default_sources())
    pricing = Pricing("bench", 1.0, p.price_per_kwh, p.currency, p.price_source, p.zone, p.location_source)
    stages = Stages(meter, grid.current, pricing, Watches(), lambda rec, closing: None)
    samples = stage_window_samples_us(stages, 500 if quick else 5000)
    meter.close()
    med = statistics.median(samples)
    return {"name": "stage enter+exit (measurement only)", "value": round(med, 2), "unit": "us",
            "baseline": None, "ratio": round(med / 15.0, 3), "target": "<= 15 us median",
            "note": f"median of {len(samples)}; default meters (model CPU + RAM), record built, no sinks"}


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
        out: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
        for _ in range(rounds):  # interleaved: A B C A B C ...
            for name, (fn, drain) in cases.items():
                out[name].append(_latency_and_cpu_us(fn, n, drain))
        green.close()
        plain.close()
    med = {k: (statistics.median(v[0] for v in vs), statistics.median(v[1] for v in vs)) for k, vs in out.items()}
    (base_lat, base_cpu) = med["plain"]
    note = (f"interleaved {rounds} rounds x {n} calls, medians; baseline: one plain SummaryWriter.add_scalar "
            "(same measure); CPU = process time of all threads incl. each writer's background work, drained")
    rows = []
    for key, label, target in (
        ("update", "update() with CSV row + event", "<= 1.2x add_scalar"),
        ("window", "stage window (start+stop) with CSV row + event", "<= 1.2x add_scalar"),
        ("green_add_scalar", "add_scalar through GreenSummaryWriter", "< 1.0x plain add_scalar (stretch)"),
    ):
        lat, cpu = med[key]
        rows.append({"name": f"{label}: call latency", "value": round(lat, 2), "unit": "us",
                     "baseline": round(base_lat, 2), "ratio": round(lat / base_lat, 3), "target": target,
                     "note": note})
        rows.append({"name": f"{label}: CPU per call", "value": round(cpu, 2), "unit": "us",
                     "baseline": round(base_cpu, 2), "ratio": round(cpu / base_cpu, 3), "target": target,
                     "note": note})
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
    reps = 2 if quick else 5
    pairs = [(_subprocess_s(_PLAIN), _subprocess_s(_GREEN)) for _ in range(reps)]
    base = statistics.median(p[0] for p in pairs)
    val = statistics.median(p[1] for p in pairs)
    return [
        {"name": "import + GreenSummaryWriter() + first stage, beyond torch", "value": round(val, 3), "unit": "s",
         "baseline": round(base, 3), "ratio": round(val / 0.2, 3), "target": "<= 0.2 s",
         "note": f"median of {reps} subprocesses; baseline = import torch.utils.tensorboard + SummaryWriter()"},
    ]


def run(quick: bool = False) -> list[dict]:
    return [bench_stage(quick), *bench_update(quick), *bench_startup(quick)]


def main() -> int:
    return standalone("core", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
