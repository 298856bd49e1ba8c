"""Timing helpers for the benchmarks: interleaved A/B runs, medians, fresh
subprocesses, CPU time of background threads, memory, and the result row.

Every figure is a ratio against a baseline measured in the same run, with the
variants interleaved (A B C, B C A, ...) so drift on a noisy shared machine
hits all of them alike, and summarised by the median.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import psutil

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent

Row = dict


#: from this many repeats on, the spread is the interquartile range (one outlier on a shared machine
#: should not hide an effect), below it min-max
IQR_FROM = 10


@dataclass(frozen=True)
class Stat:
    """A timing over repeats: the median and the spread of ``n`` samples (min-max; IQR from 10 samples)."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float], scale: float = 1.0) -> "Stat":
        xs = [x * scale for x in samples]
        if len(xs) >= IQR_FROM:
            q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
            return cls(q2, q1, q3, len(xs))
        return cls(statistics.median(xs), min(xs), max(xs), len(xs))

    def scaled(self, k: float) -> "Stat":
        return Stat(self.median * k, self.lo * k, self.hi * k, self.n)


def overlap(a: "float | Stat", b: "float | Stat") -> bool:
    """Whether two values' spreads (a plain number: a point) overlap."""
    lo_a, hi_a = (a.lo, a.hi) if isinstance(a, Stat) else (a, a)
    lo_b, hi_b = (b.lo, b.hi) if isinstance(b, Stat) else (b, b)
    return lo_a <= hi_b and lo_b <= hi_a


def _split(v: "float | Stat | None") -> tuple[float | None, Stat | None]:
    return (v.median, v) if isinstance(v, Stat) else (v, None)


def row(
    name: str,
    value: "float | Stat | None",
    unit: str,
    *,
    baseline: str = "",
    base: "float | Stat | None" = None,
    target: str = "",
    met: bool | None = None,
    note: str = "",
) -> Row:
    """One result row; the shape every ``bench_*.run()`` returns.

    ``base`` is the named ``baseline`` measured in the same run on the same work, in the same ``unit``;
    only then does the row get a ratio, and it is always ``value / base``. When the two spreads overlap
    (the difference is smaller than the repeats' scatter), the row says "within noise" instead of a ratio.
    ``target`` is a goal in words; ``met`` says whether this run meets it.
    """
    v, v_stat = _split(value)
    b, b_stat = _split(base)
    ratio_ = None if v is None or b is None or b <= 0 else v / b
    noise = ratio_ is not None and overlap(v_stat or v, b_stat or b)
    return {"name": name, "value": v, "spread": (v_stat.lo, v_stat.hi) if v_stat else None,
            "n": v_stat.n if v_stat else None, "unit": unit, "baseline": baseline, "base": b,
            "base_spread": (b_stat.lo, b_stat.hi) if b_stat else None, "ratio": None if noise else ratio_,
            "within_noise": noise, "target": target, "met": met, "note": note}


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def per_call(fn: Callable[[], object], n: int) -> float:
    """Seconds per call of ``fn`` over ``n`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def interleave(variants: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call each variant once per round, rotating the order every round; samples per variant.

    Each callable returns one sample (for example seconds per call over a short batch).
    """
    names = list(variants)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(variants[name]())
    return out


def interleaved_medians(variants: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    return {k: median(v) for k, v in interleave(variants, rounds).items()}


def interleaved_stats(variants: Mapping[str, Callable[[], float]], rounds: int, scale: float = 1.0) -> dict[str, Stat]:
    """:func:`interleave`, each variant's samples (times ``scale``) as a :class:`Stat`."""
    return {k: Stat.of(v, scale) for k, v in interleave(variants, rounds).items()}


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is unknown or ``b`` is not positive."""
    if a is None or b is None or b <= 0:
        return None
    return a / b


def python_env() -> dict[str, str]:
    """Environment for child Pythons: repo and benchmarks importable, no GREENOPS_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENOPS_")}
    paths = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []  # the caller's first (e.g. a patched tree)
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(REPO), str(BENCH_DIR)])
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def run_child(args: Sequence[str], timeout: float = 600) -> dict:
    """Run ``python ARGS`` in a fresh process; its last stdout line is JSON; adds ``wall_s``.

    Raises RuntimeError with the child's stderr tail when it fails.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=python_env(), cwd=str(REPO)
    )
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {' '.join(args)} failed (rc={proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(lines[-1])
    out["wall_s"] = wall
    return out


def start_child(args: Sequence[str], stdin: bool = False) -> subprocess.Popen:
    """Start ``python ARGS`` without waiting (pair with :func:`finish_child`); ``stdin`` gives it a pipe."""
    return subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=python_env(), cwd=str(REPO),
    )


def finish_child(proc: subprocess.Popen, timeout: float) -> dict:
    out, err = proc.communicate(timeout=timeout)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {proc.args} failed (rc={proc.returncode}): {err[-2000:]}")
    return json.loads(lines[-1])


def emit(result: Mapping) -> None:
    """A child's result: one JSON line on stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def process_cpu_s() -> float:
    """CPU seconds (user+system) of this process and its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def background_thread_cpu_s() -> float:
    """CPU seconds of every thread of this process except the main thread."""
    main_id = threading.main_thread().native_id
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id != main_id)


def rss_bytes() -> int:
    return psutil.Process().memory_info().rss


def machine_info() -> dict[str, str]:
    """Machine, OS, Python and key package versions for RESULTS.md."""
    import importlib.metadata as md

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    info = {
        "cpu": f"{cpu} ({psutil.cpu_count(logical=True)} logical cores)",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    for pkg in ("torch", "tensorboard", "protobuf", "greenops_tb", "codecarbon", "zeus", "carbontracker"):
        try:
            info[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            info[pkg] = "not installed"
    return info


def stage_window_samples_us(stages: Any, n: int) -> list[float]:
    """``n`` start+stop windows of stage "s" on a :class:`greenops_tb.recording.stages.Stages`, each timed in microseconds."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        stages.start("s")
        stages.stop("s")
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return samples


def standalone(name: str, run: Callable[[bool], list[dict]], doc: str | None, argv: Sequence[str] | None = None) -> int:
    """``python benchmarks/bench_<name>.py [--quick]``: run and print the table (RESULTS.md is run_all.py's)."""
    import argparse

    from run_all import format_table

    ap = argparse.ArgumentParser(description=(doc or name).splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny repeat counts (smoke run)")
    rows = run(ap.parse_args(argv).quick)
    print(format_table({**r, "module": name} for r in rows))
    return 0
