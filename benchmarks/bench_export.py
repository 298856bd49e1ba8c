"""Export throughput (records/s) of ``greenops-tb export`` on a generated logdir of 1M records.

Both of TensorBoard's loaders feed the same reader (``readers/events.read_runs``):
the Rust data server (the CLI's default) on 50 runs x 20k records, and, as the
baseline, TensorBoard's Python ingester, measured in the same run on 5 of those
runs' size (100k records; it parses event files with a pure-Python CRC and
would take minutes on 1M). Throughput counts everything a user waits for:
starting the loader, loading, decoding and writing the CSV.

    python benchmarks/bench_export.py [--quick]     # prints its rows (RESULTS.md: run_all.py)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import ratio, row, standalone  # noqa: E402
from gen_logdir import GenSpec, cached  # noqa: E402

from greenops_tb.commands.export import export  # noqa: E402
from greenops_tb.runs import open_logdir  # noqa: E402

OUT = HERE / "out"


def export_rate(logdir: Path, loader: str, fmt: str = "csv") -> tuple[float, int]:
    """(records per second, records) for one full export of ``logdir`` to a file."""
    OUT.mkdir(exist_ok=True)
    target = OUT / f"bench_export.{fmt}"
    t0 = time.perf_counter()
    with open_logdir(logdir, loader) as ld, open(target, "w", newline="", encoding="utf-8") as f:
        n = export(ld, f, fmt, ld.runs, None)
    dt = time.perf_counter() - t0
    target.unlink()
    return n / dt, n


def run(quick: bool = False) -> list[dict]:
    main = GenSpec(runs=2, records=2000) if quick else GenSpec(runs=50, records=20000)
    base = GenSpec(runs=1, records=2000) if quick else GenSpec(runs=5, records=20000)
    main_dir, base_dir = cached(main), cached(base)
    server_rate, n = export_rate(main_dir, "server")
    jsonl_rate, _ = export_rate(main_dir, "server", "jsonl")
    python_rate, n_base = export_rate(base_dir, "python")
    baseline = f"TensorBoard Python ingester, same reader: {python_rate:,.0f} records/s on {n_base:,} records"
    return [
        row(f"export CSV, {n:,} records ({main.runs} runs), Rust data server loader", server_rate, "records/s",
            baseline=baseline, ratio=ratio(server_rate, python_rate), target="> 1x the Python ingester (informational)",
            note="includes loader start, full load, decode, CSV write"),
        row(f"export JSON Lines, {n:,} records", jsonl_rate, "records/s", baseline=baseline,
            ratio=ratio(jsonl_rate, python_rate), note="Record.to_json per line"),
        row(f"export CSV, {n_base:,} records, Python ingester loader", python_rate, "records/s",
            note="fallback when tensorboard-data-server is not installed"),
    ]


def main() -> int:
    return standalone("export", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
