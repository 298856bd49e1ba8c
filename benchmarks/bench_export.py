"""Export throughput (records/s) of ``greenops-tb export``: both loaders on the same logdir, with repeats.

Both of TensorBoard's loaders feed the same reader (``readers/events.read_runs``):
the Rust data server (the CLI's default) and TensorBoard's Python ingester (its
fallback; a pure-Python CRC per event, minutes on 1M records). The same-work
pair runs both on one logdir (2 runs x 20k records), interleaved over repeats;
the scale row runs the data server once on 10 runs x 20k records (200k), with no
baseline. Throughput counts everything a user waits for: starting the loader,
loading, decoding and writing the file.

    python benchmarks/bench_export.py [--quick]     # prints its rows (RESULTS.md: run_all.py)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import Stat, interleave, row, standalone  # noqa: E402
from gen_logdir import GenSpec, cached, first_runs  # noqa: E402

from greenops_tb.commands.export import export  # noqa: E402
from greenops_tb.readers.runs import open_logdir  # noqa: E402

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
    scale = GenSpec(runs=2, records=2000) if quick else GenSpec(runs=10, records=20000)
    pair = GenSpec(runs=2, records=scale.records)
    reps = 2 if quick else 3
    scale_dir = cached(scale)
    pair_dir = first_runs(scale_dir, pair.runs)
    counts: set[int] = set()

    def rate(loader: str, fmt: str = "csv"):
        def one() -> float:
            r, n = export_rate(pair_dir, loader, fmt)
            counts.add(n)
            return r
        return one

    s = interleave({"server": rate("server"), "python": rate("python"), "jsonl": rate("server", "jsonl")}, reps)
    (n,) = counts  # every export of the pair read the same records
    server, python, jsonl = (Stat.of(s[k]) for k in ("server", "python", "jsonl"))
    big, big_n = export_rate(scale_dir, "server")
    where = f"{n:,} records ({pair.runs} runs x {pair.records:,})"
    return [
        row(f"export CSV, {where}, Rust data server loader", server, "records/s",
            baseline="TensorBoard Python ingester loader, same logdir, same reader", base=python,
            target="> 1x the Python ingester (informational)", met=server.median > python.median,
            note=f"{reps} interleaved repeats; includes loader start, full load, decode, CSV write"),
        row(f"export CSV, {where}, Python ingester loader", python, "records/s",
            note="the fallback when tensorboard-data-server is not installed"),
        row(f"export JSON Lines, {where}, Rust data server loader", jsonl, "records/s",
            baseline="export CSV, same loader, same logdir", base=server, note="Record.to_json per line"),
        row(f"export CSV, {big_n:,} records ({scale.runs} runs x {scale.records:,}), Rust data server loader, once",
            big, "records/s", note="scale check: one run, no baseline at this size (the Python ingester would take "
            "minutes)"),
    ]


def main() -> int:
    return standalone("export", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
