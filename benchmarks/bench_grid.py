"""Grid data (issue 4): embedded dataset load + first lookup, and a cached lookup, side by side.

    python benchmarks/bench_grid.py [--quick]    # prints its rows (RESULTS.md: run_all.py)
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Stat, interleave, row, standalone  # noqa: E402

from greenops_tb.grid import dataset, resolve_grid  # noqa: E402

MS = 1e3
_COLD = ("import time; t=time.perf_counter(); from greenops_tb.grid import resolve_grid; "
         "resolve_grid(country='DE', env={}); print(time.perf_counter()-t)")


def _first_lookup() -> float:
    dataset.load.cache_clear()
    t = time.perf_counter()
    resolve_grid(country="DE", env={})
    return time.perf_counter() - t


def _cached_lookup() -> float:
    resolve_grid(country="DE", env={})
    t = time.perf_counter()
    resolve_grid(country="DE", env={})
    return time.perf_counter() - t


def _cold_process() -> float:
    out = subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True, check=True).stdout
    return float(out)


def run(quick: bool = False) -> list[dict]:
    rounds = 5 if quick else 30
    s = interleave({"first": _first_lookup, "cached": _cached_lookup}, rounds)
    first, cached = Stat.of(s["first"], MS), Stat.of(s["cached"], MS)
    cold = Stat.of([_cold_process() for _ in range(2 if quick else 5)], MS)
    return [
        row("grid: dataset load + first lookup (in process)", first, "ms", target="< 20 ms", met=first.median < 20,
            note=f"{rounds} rounds interleaved with a cached lookup"),
        row("grid: cached lookup", cached, "ms", note="the embedded dataset already loaded"),
        row("grid: import greenops_tb.grid + first resolve_grid (fresh process)", cold, "ms",
            target="< 20 ms for load+lookup", met=cold.median < 20, note="includes importing the grid package"),
    ]


def main() -> int:
    return standalone("grid", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
