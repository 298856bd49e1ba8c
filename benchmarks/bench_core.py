"""Core overheads, measured side by side in one run (2-core noisy machine: medians, interleaved rounds).

* stage enter+exit, measurement only (meter reads, accounting, record built; no sinks): target <= 15 us median
* one ``update()`` with its CSV row and event vs one plain ``SummaryWriter.add_scalar``: target <= 1.2x
* ``import greenops_tb`` + ``GreenSummaryWriter()`` + first stage, beyond importing torch (subprocesses): <= 0.2 s

    python benchmarks/bench_core.py [--quick]      # prints a table, writes benchmarks/results/core.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "core.json"


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
    n = 500 if quick else 5000
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        stages.start("s")
        stages.stop("s")
        samples.append((time.perf_counter_ns() - t0) / 1000)
    meter.close()
    med = statistics.median(samples)
    return {"name": "stage enter+exit (measurement only)", "value": round(med, 2), "unit": "us",
            "baseline": None, "ratio": round(med / 15.0, 3), "target": "<= 15 us median",
            "note": f"median of {n}; default meters (model CPU + RAM), record built, no sinks"}


def bench_update(quick: bool) -> dict:
    from torch.utils.tensorboard import SummaryWriter

    from greenops_tb import GreenSummaryWriter

    n = 300 if quick else 2000
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = SummaryWriter(os.path.join(d, "plain"))
        green = GreenSummaryWriter(os.path.join(d, "green"), country="DE")
        green.start("train")
        step = iter(range(10**9))
        add = lambda: plain.add_scalar("loss", 0.5, next(step))  # noqa: E731
        upd = lambda: green.update("train")  # noqa: E731
        rounds = [(_per_call_us(add, n // 5), _per_call_us(upd, n // 5)) for _ in range(3)]
        green.close()
        plain.close()
    base = statistics.median(r[0] for r in rounds)
    val = statistics.median(r[1] for r in rounds)
    return {"name": "update() with CSV row + event", "value": round(val, 2), "unit": "us",
            "baseline": round(base, 2), "ratio": round(val / base, 3), "target": "<= 1.2x add_scalar",
            "note": "baseline: one plain SummaryWriter.add_scalar; interleaved rounds, medians"}


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
    return [bench_stage(quick), bench_update(quick), *bench_startup(quick)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    results = run(ap.parse_args().quick)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for r in results:
        base = "" if r["baseline"] is None else f" (baseline {r['baseline']} {r['unit']})"
        print(f"{r['name']:<58} {r['value']:>9} {r['unit']}{base}  ratio {r['ratio']}  target {r['target']}")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
