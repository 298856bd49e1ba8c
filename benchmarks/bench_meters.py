"""Meter overheads, measured side by side in one run (2-core noisy machine: medians, interleaved rounds).

* background sampler CPU at the default interval (RAM model + a power-only GPU on the stand-in NVML):
  target <= 0.5% of one core
* model hooks: one forward+backward of a small MLP with hooks vs without (thread CPU time): target <= 1.03x;
  the hooks add a fixed cost per step (4 meter reads), so the ratio is shown for a 2 ms and a ~15 ms step
* stage enter+exit with hardware reads (fake powercap tree + stand-in NVML energy-counter GPU)
  vs the same with the model sources

    python benchmarks/bench_meters.py [--quick]      # prints its rows (RESULTS.md: run_all.py)

The stand-ins run at the hardware boundary only (the project's RAPL and NVML
code runs unchanged); a real NVML call costs more than the stand-in's Python
function (tens of us through the driver), so on a GPU machine add that per GPU.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "tests")]

from common import Stat, interleave, interleaved_stats, median, row, stage_window_samples_us, standalone  # noqa: E402


def _fake_gpu(energy_counter: bool) -> None:
    from fakes.fake_nvml import FakeGpu, make_fake_nvml

    sys.modules["pynvml"] = make_fake_nvml([FakeGpu("GPU-bench-0000", energy_counter=energy_counter)])


def bench_sampler(quick: bool) -> dict:
    from greenops_tb.meters.base import Meter
    from greenops_tb.meters.model import ModelRamSource
    from greenops_tb.meters.nvml import nvml_sources
    from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S

    _fake_gpu(energy_counter=False)
    meter = Meter([ModelRamSource(), *nvml_sources(env={})])
    try:
        tid = meter._sampler._thread.native_id

        def cpu_s() -> float:  # schedstat: ns on CPU (psutil's thread times tick at 10 ms, too coarse)
            with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
                return int(f.read().split()[0]) / 1e9

        seconds, parts = (3.0, 3) if quick else (15.0, 5)
        pcts = []
        for _ in range(parts):
            c0, t0 = cpu_s(), time.perf_counter()
            time.sleep(seconds / parts)
            pcts.append((cpu_s() - c0) / (time.perf_counter() - t0) * 100)
    finally:
        meter.close()
    pct = Stat.of(pcts)
    return row("sampler CPU at default interval, RAM model + 1 power-only GPU (stand-in NVML)", pct,
               "% of one core", target="<= 0.5% of one core", met=pct.median <= 0.5,
               note=f"{DEFAULT_INTERVAL_S} s interval; {parts} slices of {seconds / parts:g} s; the sampler thread's "
               "own CPU time (schedstat)")


def bench_hooks(quick: bool, batch_size: int) -> dict:
    import torch
    from torch import nn

    from greenops_tb import GreenSummaryWriter
    from greenops_tb.recording.model_hooks import attach

    torch.manual_seed(0)
    torch.set_num_threads(1)
    m = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    x, y = torch.randn(batch_size, 256), torch.randint(0, 10, (batch_size,))

    def batch(n: int) -> float:
        # CPU time of this thread (torch on 1 thread; CPU autograd runs here): immune to preemption by
        # other processes on a shared machine, which wall time is not
        t0 = time.thread_time()
        for _ in range(n):
            m.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(m(x), y).backward()
        return (time.thread_time() - t0) / n

    def hooked(n: int) -> float:
        hooks = attach(w, m, "train", count_steps=True)  # same model, hooks on for this batch only
        try:
            return batch(n)
        finally:
            hooks.remove()

    n = max(5, (2560 if quick else 10240) // batch_size)
    rounds = 7 if quick else 15
    with tempfile.TemporaryDirectory() as d, GreenSummaryWriter(d, country="DE", csv_path=False) as w:
        w.start("train")
        batch(3), hooked(3)  # warm up
        samples = interleave({"plain": lambda: batch(n), "hooked": lambda: hooked(n)}, rounds)
        w.stop("train")
    hooked, plain = Stat.of(samples["hooked"], 1e6), Stat.of(samples["plain"], 1e6)
    paired = median([h / p for h, p in zip(samples["hooked"], samples["plain"])])
    return row(f"model hooks: forward+backward, MLP 256-512-512-10 batch {batch_size}", hooked, "us CPU",
               baseline="same model, no hooks, same rounds", base=plain, target="<= 1.03x no hooks",
               met=hooked.median <= 1.03 * plain.median,
               note=f"thread CPU time, {rounds} interleaved rounds x {n} steps; "
               f"+{hooked.median - plain.median:.0f} us/step: 4 meter reads (model CPU+RAM) + hooks, a fixed cost "
               f"per step; median of per-round ratios {paired:.4f}")


def bench_stage_reads(quick: bool) -> list[dict]:
    from fakes.powercap import intel_two_sockets

    from greenops_tb.grid import resolve_grid
    from greenops_tb.meters.base import Meter
    from greenops_tb.meters.model import ModelCpuSource, ModelRamSource
    from greenops_tb.meters.nvml import nvml_sources
    from greenops_tb.meters.rapl import rapl_sources
    from greenops_tb.recording.stages import Pricing, Stages
    from greenops_tb.recording.watch import Watches

    grid = resolve_grid("DE")
    p = grid.profile
    pricing = Pricing("bench", 1.0, p.price_per_kwh, p.currency, p.price_source, p.zone, p.location_source)
    _fake_gpu(energy_counter=True)
    with tempfile.TemporaryDirectory() as d:
        intel_two_sockets(Path(d))  # counters not advancing: the cost of the reads is what is measured
        hw = Meter([*nvml_sources(env={}), *rapl_sources(d)])
        model = Meter([ModelCpuSource(), ModelRamSource()])
        runs = {name: Stages(m, grid.current, pricing, Watches(), lambda rec, closing: None)
                for name, m in (("hardware", hw), ("model", model))}

        def one(stages: Stages) -> float:
            return median(stage_window_samples_us(stages, 100 if quick else 500))

        med = interleaved_stats({k: (lambda s=s: one(s)) for k, s in runs.items()}, 5 if quick else 15)
        rapl = next(s for s in hw.sources if s.provenance() == ["rapl"])
        rapl_us = Stat.of([_per_read_us(rapl) for _ in range(5)])
        hw.close()
        model.close()
    grid.close()
    return [
        row("stage enter+exit, hardware reads: stand-in NVML energy-counter GPU + RAPL on a fake powercap tree "
            "(cpu:0 2 packages, ram 2 dram)", med["hardware"], "us",
            baseline="same stage, model sources (CPU + RAM)", base=med["model"],
            note="the stand-ins sit at the hardware boundary (the project's NVML and RAPL code runs); a real NVML "
            "call through the driver costs more"),
        row("RAPL read (2 zones, pread) on a fake powercap tree (tmpfs files)", rapl_us, "us",
            note="one RaplSource.read(); 5 batches of 2000"),
    ]


def _per_read_us(source) -> float:
    t0 = time.perf_counter()
    for _ in range(2000):
        source.read()
    return (time.perf_counter() - t0) / 2000 * 1e6


def run(quick: bool = False) -> list[dict]:
    saved = sys.modules.get("pynvml")
    try:
        return [bench_sampler(quick), bench_hooks(quick, 64), bench_hooks(quick, 512), *bench_stage_reads(quick)]
    finally:
        if saved is not None:
            sys.modules["pynvml"] = saved
        else:
            sys.modules.pop("pynvml", None)


def main() -> int:
    return standalone("meters", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
