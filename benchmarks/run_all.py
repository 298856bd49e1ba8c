"""The one benchmark command: every benchmarks/bench_*.py module plus the peer comparison.

Prints one table and writes benchmarks/RESULTS.md (machine, versions, date,
the command, every row). Peers come from benchmarks/requirements.txt::

    pip install -r benchmarks/requirements.txt
    python benchmarks/run_all.py            # full (about 10 minutes on 2 cores)
    python benchmarks/run_all.py --quick    # tiny repeat counts, for a smoke run

A module that fails does not stop the others: its row says why.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Iterable, Sequence

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import machine_info, row  # noqa: E402

log = logging.getLogger(__name__)

#: per-area modules (each ``run(quick: bool = False) -> list[dict]``), then the peers
MODULES: tuple[str, ...] = (
    "bench_core", "bench_meters", "bench_grid", "bench_plugin", "bench_export", "bench_many_runs", "bench_distributed",
    "bench_peers",
)
COLUMNS = ("name", "value", "unit", "baseline", "ratio", "target", "note")
RESULTS = HERE / "RESULTS.md"


def run_modules(names: Sequence[str], quick: bool) -> list[dict]:
    """Rows of every module that exists; a failing module becomes one row with its error."""
    rows: list[dict] = []
    for name in names:
        if not (HERE / f"{name}.py").exists():
            log.info("%s: not present, skipped", name)
            continue
        t0 = time.perf_counter()
        try:
            mod_rows = importlib.import_module(name).run(quick=quick)
        except Exception as err:  # noqa: BLE001 - one broken module must not hide the others' results
            log.error("%s failed:\n%s", name, traceback.format_exc())
            mod_rows = [row(f"{name} FAILED", None, "", note=f"{type(err).__name__}: {err}")]
        for r in mod_rows:
            r["module"] = name.removeprefix("bench_")
        rows += mod_rows
        log.info("%s: %d rows in %.1f s", name, len(mod_rows), time.perf_counter() - t0)
    return rows


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        a = abs(v)
        if a == 0:
            return "0"
        if a >= 1e5:
            return f"{v:,.0f}"
        if a >= 100:
            return f"{v:.0f}"
        if a >= 1:
            return f"{v:.2f}"
        return f"{v:.3g}"
    return str(v).replace("|", "/").replace("\n", " ")


def _cells(r: dict) -> list[str]:
    cells = [_fmt(r.get(c)) for c in COLUMNS]
    if r.get("ratio") is not None:
        cells[COLUMNS.index("ratio")] += "x"
    return [r.get("module", "")] + cells


def format_table(rows: Iterable[dict]) -> str:
    """A plain-text table for the terminal."""
    body = [_cells(r) for r in rows]
    head = ["module", *COLUMNS]
    widths = [min(max(len(x) for x in col), 60) for col in zip(head, *body)]
    line = lambda cs: "  ".join(c[:w].ljust(w) for c, w in zip(cs, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(b) for b in body)])


def format_markdown(rows: Iterable[dict], command: str, quick: bool, seconds: float) -> str:
    info = machine_info()
    out = [
        "# Benchmark results",
        "",
        f"Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC} by `{command}` "
        f"({'QUICK mode: tiny repeat counts, indicative only' if quick else 'full mode'}), in {seconds:.0f} s.",
        "",
        "Each ratio is measured side by side in the same run against the named baseline, "
        "as a median over interleaved repeats (A B C, B C A, ...).",
        "",
        "## Machine and versions",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        "",
        "## Results",
        "",
        "| " + " | ".join(["module", *COLUMNS]) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
        *("| " + " | ".join(_cells(r)) + " |" for r in rows),
        "",
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run every benchmark and the peer comparison; write RESULTS.md.")
    p.add_argument("--quick", action="store_true", help="tiny repeat counts (a smoke run; RESULTS.md says so)")
    p.add_argument("--only", nargs="*", metavar="MODULE", help=f"run only these of {list(MODULES)}")
    p.add_argument("--out", type=Path, default=RESULTS, help="where to write the markdown (default: %(default)s)")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    names = [m for m in MODULES if not args.only or m in args.only or m.removeprefix("bench_") in args.only]
    t0 = time.perf_counter()
    rows = run_modules(names, args.quick)
    seconds = time.perf_counter() - t0
    print(format_table(rows))
    if not args.no_write:
        command = "python benchmarks/run_all.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
        args.out.write_text(format_markdown(rows, command, args.quick, seconds), encoding="utf-8")
        log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
