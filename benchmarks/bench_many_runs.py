"""``summary`` and ``export`` over many small runs and over a few large ones, with the default loader.

The 1,000-runs x 50-records logdir is the "hyperparameter sweep" shape: the reader lists the
experiment once and reads runs in batches of about 20k records (one provider call each) instead of
listing and reading every run on its own. The baseline, measured in the same run, is the per-run
read (a listing of the whole experiment plus one read per run, as before) on the first 100 runs
(it grows with runs x runs). The 10 x 20k logdir (the plugin and export benchmarks' own) checks the batching costs large runs nothing.

    python benchmarks/bench_many_runs.py [--quick]     # writes benchmarks/results/many_runs.json
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import row, standalone  # noqa: E402
from gen_logdir import GenSpec, cached  # noqa: E402

from greenops_tb.commands.export import export  # noqa: E402
from greenops_tb.analysis.run_summary import summarize  # noqa: E402
from greenops_tb.readers.events import read_runs  # noqa: E402
from greenops_tb.readers.runs import EXPERIMENT, open_logdir  # noqa: E402

OUT = HERE / "out"


def summary_s(logdir: Path) -> tuple[float, int]:
    """(seconds, runs) for what ``greenops-tb summary LOGDIR`` does: open, read every run, summarise."""
    t0 = time.perf_counter()
    with open_logdir(logdir, "auto") as ld:
        n = sum(1 for data in ld.read_all(ld.runs) if summarize(data))
    return time.perf_counter() - t0, n


def export_s(logdir: Path) -> tuple[float, int]:
    """(seconds, records) for ``greenops-tb export LOGDIR -o file.csv``."""
    OUT.mkdir(exist_ok=True)
    target = OUT / "bench_many_runs.csv"
    t0 = time.perf_counter()
    with open_logdir(logdir, "auto") as ld, open(target, "w", newline="", encoding="utf-8") as f:
        n = export(ld, f, "csv", ld.runs, None)
    dt = time.perf_counter() - t0
    target.unlink()
    return dt, n


def per_run_summary_s(logdir: Path, runs: int) -> float:
    """The baseline: the first ``runs`` runs read one by one, each read listing the experiment first."""
    from tensorboard.context import RequestContext

    t0 = time.perf_counter()
    with open_logdir(logdir, "auto") as ld:
        for run in ld.runs[:runs]:
            summarize(read_runs(ld.provider, RequestContext(), EXPERIMENT, runs=[run])[run])
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[dict]:
    many = GenSpec(runs=20, records=50) if quick else GenSpec(runs=1000, records=50)
    large = GenSpec(runs=2, records=2000) if quick else GenSpec(runs=10, records=20000)  # the plugin and export logdir (cached)
    base_runs = 10 if quick else 100
    many_dir, large_dir = cached(many), cached(large)
    s_many, n_runs = summary_s(many_dir)
    e_many, n_rec = export_s(many_dir)
    base = per_run_summary_s(many_dir, base_runs)
    batched_per_run, base_per_run = s_many / n_runs, base / base_runs
    s_large, n_large = summary_s(large_dir)
    baseline = f"per-run reads (list + read each run): {base_per_run * 1000:.1f} ms/run on its first {base_runs} runs"
    return [
        row(f"summary, {n_runs:,} runs x {many.records} records, default loader", s_many, "s",
            target="<= 10 s", note="loader start, load, read in batches, summarise"),
        row(f"summary per run, {n_runs:,}-run logdir", batched_per_run * 1000, "ms/run", baseline=baseline,
            base=base_per_run * 1000, target="< 1x", note="ratio < 1: faster than per-run reads"),
        row(f"export CSV, {n_rec:,} records ({n_runs:,} runs), default loader", e_many, "s", target="<= 10 s"),
        row(f"summary, {n_large:,} runs x {large.records:,} records, default loader", s_large, "s",
            note="large runs: batches of about 20k records keep memory bounded"),
    ]


def main() -> int:
    return standalone("many_runs", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
