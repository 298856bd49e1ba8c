"""Instructions executed per ``update()`` record, counted by valgrind: a figure without the machine's noise.

Timings on a shared 2-core machine move by +-20 % between processes; the instructions a record takes do not.
This counts them with ``valgrind --tool=cachegrind`` (user space only: the kernel's part of a write is not in
it) for a ``GreenSummaryWriter(country="DE")`` whose stage ``update()`` runs n times and whose records are built
and written (CSV row and event) by ``flush()`` in the same thread: the records thread is held off, so no
scheduling enters the count. The figure is the difference between n = 5,000 and n = 1,000 records, divided by
4,000: start-up and imports cancel out. Each tree given is measured the same way (``PYTHONPATH``), side by side:

    python benchmarks/bench_instructions.py                     # this checkout
    git worktree add /tmp/base <rev>
    python benchmarks/bench_instructions.py . /tmp/base         # this checkout and another tree

Each count takes about a minute (torch is imported under valgrind). Not part of ``run_all.py``: it needs
valgrind, which the benchmark machine may lack.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

_CHILD = """
import os, sys, tempfile, warnings
warnings.simplefilter("ignore")
import greenops_tb.recording.batch as batch
batch.Batcher.__init__.__defaults__ = (1e6,)  # the records thread never wakes: flush() builds every record
from greenops_tb import GreenSummaryWriter
w = GreenSummaryWriter(tempfile.mkdtemp(), country="DE")
w.start("train")
for _ in range(200):  # forms compiled, layouts cached, buffers grown
    w.update("train")
w.flush()
for _ in range(int(sys.argv[1]) // 1000):
    for _ in range(1000):
        w.update("train")
    w.flush()
os._exit(0)  # no close(): its work is not the records'
"""
SMALL, LARGE = 1_000, 5_000


def instructions(tree: str, records: int) -> int:
    """Instructions valgrind counts for the child over ``records`` records, greenops_tb imported from ``tree``."""
    root = os.path.abspath(tree)
    env = {**os.environ, "PYTHONPATH": root}
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           os.path.realpath(sys.executable), "-c", _CHILD, str(records)],
                          capture_output=True, text=True, env=env, cwd=root, check=True)  # -c: the cwd comes first
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if found is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_record(tree: str) -> float:
    """Instructions per record for the tree: the difference of two runs, so start-up cancels out."""
    with ThreadPoolExecutor(2) as pool:
        small, large = pool.map(lambda n: instructions(tree, n), (SMALL, LARGE))
    return (large - small) / (LARGE - SMALL)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="*", default=["."], help="checkouts to import greenops_tb from (default: this one)")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        ap.error("valgrind is not installed (apt-get install -y valgrind)")
    counts = {tree: per_record(tree) for tree in args.trees}
    first = counts[args.trees[0]]
    for tree, n in counts.items():
        ratio = "" if tree == args.trees[0] else f"  ({n / first:.3f}x the first)"
        sys.stdout.write(f"{tree}: {n:,.0f} instructions per update() record{ratio}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
