"""The one benchmark command: every benchmarks/bench_*.py module plus the peer comparison.

Prints one table and writes benchmarks/RESULTS.md (machine, versions, date,
the command, every row). Peers come from benchmarks/requirements.txt::

    pip install -r benchmarks/requirements.txt
    python benchmarks/run_all.py                      # full (about 10 minutes on 2 cores)
    python benchmarks/run_all.py --quick --allow-dirty   # tiny repeat counts -> benchmarks/out/RESULTS.dev.md

RESULTS.md is stamped with the commit and a SHA-256 of benchmarks/*.py (see
:func:`code_hash`; tests/test_benchmarks_results.py checks both against the
committed code), so it is only written from a clean tree: uncommitted changes
under benchmarks/ or greenops_tb/ make the run refuse, unless ``--allow-dirty``,
which writes benchmarks/out/RESULTS.dev.md instead. A module that fails does
not stop the others: its row says why.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import logging
import math
import subprocess
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
    "bench_core", "bench_loop", "bench_meters", "bench_grid", "bench_plugin", "bench_export", "bench_many_runs",
    "bench_cluster", "bench_resume",
    "bench_peers",
)
COLUMNS = ("name", "value", "spread", "n", "unit", "baseline", "baseline value", "ratio", "target", "met", "note")
RESULTS = HERE / "RESULTS.md"
DEV_RESULTS = HERE / "out" / "RESULTS.dev.md"
#: trees whose uncommitted changes would make the commit stamp a lie
STAMPED = ("benchmarks", "greenops_tb")
RULE = (
    "Rule for every row: **ratio = value / baseline value**, both measured in this run on the same work, in the "
    "row's unit; a row without such a baseline has no ratio. Timings are medians over interleaved repeats "
    "(A B C, B C A, ...); **spread** is min-max over the **n** repeats, or the interquartile range from 10 "
    "repeats on (the baseline value's spread opens the note). "
    "When the value's spread and the baseline value's spread overlap, the ratio cell says **within noise**. "
    "**target** is a goal, **met** whether this run meets it."
)


def code_hash(root: Path = HERE) -> str:
    """SHA-256 over benchmarks/*.py: each file's name, a NUL, its bytes, a NUL, in name order."""
    h = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=True).stdout


def commit() -> str:
    return _git("rev-parse", "HEAD").strip()


def dirty() -> list[str]:
    """Uncommitted (or untracked) paths under the stamped trees, RESULTS.md itself excepted."""
    out = _git("status", "--porcelain", "--untracked-files=all", "--", *STAMPED)
    paths = [ln[3:] for ln in out.splitlines() if ln.strip()]
    return [p for p in paths if p != "benchmarks/RESULTS.md" and "__pycache__" not in p]


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


def _spread(s: object) -> str:
    return "" if not s else f"{_fmt(float(s[0]))} - {_fmt(float(s[1]))}"


def _cells(r: dict) -> list[str]:
    ratio = r.get("ratio")
    met = r.get("met")
    note = r.get("note", "")
    if r.get("base_spread"):
        note = f"baseline spread {_spread(r['base_spread'])}" + (f"; {note}" if note else "")
    cells = {
        "name": _fmt(r.get("name")), "value": _fmt(r.get("value")), "spread": _spread(r.get("spread")),
        "n": "" if r.get("n") is None else str(r["n"]), "unit": _fmt(r.get("unit")),
        "baseline": _fmt(r.get("baseline") or ""), "baseline value": "" if r.get("base") is None else _fmt(r["base"]),
        "ratio": "within noise" if r.get("within_noise") else ("-" if ratio is None else _fmt(float(ratio)) + "x"),
        "target": _fmt(r.get("target") or ""), "met": "" if met is None else ("met" if met else "not met"),
        "note": _fmt(note),
    }
    return [r.get("module", ""), *(cells[c] for c in COLUMNS)]


def format_table(rows: Iterable[dict]) -> str:
    """A plain-text table for the terminal."""
    body = [_cells(r) for r in rows]
    head = ["module", *COLUMNS]
    widths = [min(max(len(x) for x in col), 60) for col in zip(head, *body)]
    line = lambda cs: "  ".join(c[:w].ljust(w) for c, w in zip(cs, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(b) for b in body)])


def format_markdown(rows: Iterable[dict], command: str, quick: bool, seconds: float,
                    stamp: tuple[str, str] = ("unknown", "unknown")) -> str:
    """RESULTS.md: header (date, command, mode, ``stamp`` = (commit, code hash)), the rule, machine, rows."""
    info = machine_info()
    out = [
        "# Benchmark results",
        "",
        f"Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC} by `{command}` "
        f"({'QUICK mode: tiny repeat counts, indicative only' if quick else 'full mode'}), in {seconds:.0f} s.",
        "",
        f"- commit: {stamp[0]}",
        f"- benchmarks/*.py sha256: {stamp[1]}",
        "",
        RULE,
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
    p.add_argument("--allow-dirty", action="store_true",
                   help=f"run from a tree with uncommitted changes; writes {DEV_RESULTS.relative_to(HERE.parent)}")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.only and not args.no_write and not args.allow_dirty:
        p.error("--only writes a partial table: add --allow-dirty (writes the dev file) or --no-write")
    out = DEV_RESULTS if args.allow_dirty else RESULTS
    try:
        before = (commit(), code_hash(), dirty())
    except (OSError, subprocess.CalledProcessError) as err:
        p.error(f"RESULTS.md is stamped with the git commit, so run this in a git checkout with git on PATH ({err})")
    if before[2] and not args.allow_dirty and not args.no_write:
        p.error("uncommitted changes, so the commit stamp would not describe the code that ran: "
                + ", ".join(before[2][:10]) + ". Commit them, or pass --allow-dirty (writes "
                + f"{DEV_RESULTS.relative_to(HERE.parent)}).")
    names = [m for m in MODULES if not args.only or m in args.only or m.removeprefix("bench_") in args.only]
    t0 = time.perf_counter()
    rows = run_modules(names, args.quick)
    seconds = time.perf_counter() - t0
    print(format_table(rows))
    if args.no_write:
        return 0
    if (commit(), code_hash(), dirty()) != before:
        log.error("the tree changed during the run (commit, benchmarks/*.py or uncommitted files): not writing %s", out)
        return 1
    command = "python benchmarks/run_all.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    stamp = (before[0] + (" (+ uncommitted changes)" if before[2] else ""), before[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(format_markdown(rows, command, args.quick, seconds, stamp), encoding="utf-8")
    log.info("wrote %s in %.0f s", out, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
