"""Re-opening a long run: what resuming costs at 20k, 160k and 1M rows (target: <= 1 s and <= 64 MiB extra).

The CSVs are made without a training run: one real writer records a short run, and its last row is
repeated with seq, steps and running totals advanced (one format string, the same cells otherwise), so a
1M-row CSV (about 1.1 GB) takes seconds; its checkpoint is the fold of the same records. Per size, in one
process (each log dir is removed afterwards):

* ``resume`` (``recording.resume.from_csv``) with the checkpoint a writer leaves at every opening and
  close (the header, the checkpoint, the last row), and a real writer's whole re-opening (constructor +
  close) of that log dir: medians of interleaved repeats;
* at 20k rows, once each: a77d9f2's re-opening on the same file (every row parsed into a Record, all
  held in a list, then summed: ``read_records_counted`` + ``resumed``; the issue's probe measured 14.9 s
  and +1.34 GiB at 160k rows), and the same CSV without its checkpoint (one from an older greenops_tb:
  every row read once, streaming).

Memory is tracemalloc's peak, in a separate call.

    python benchmarks/bench_resume.py [--quick]
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import shutil
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import Stat, interleave, row, standalone  # noqa: E402

from greenops_tb import ConstantPowerSource, GreenSummaryWriter  # noqa: E402
from greenops_tb.readers.csv import read_records_counted  # noqa: E402
from greenops_tb.recording import checkpoint, resume  # noqa: E402

OUT = HERE / "out" / "resume"
MIB = 1 << 20


def _writer(run: Path) -> GreenSummaryWriter:
    return GreenSummaryWriter(str(run), country="DE", meters=[ConstantPowerSource({"cpu:0": 100.0, "gpu:0": 300.0})])


def make_run(rows: int) -> Path:
    """A log dir (under benchmarks/out/resume) whose green.csv has ``rows`` rows of one stage."""
    run = OUT / f"run_{rows}"
    csv_path = run / "green.csv"
    shutil.rmtree(run, ignore_errors=True)
    with _writer(run) as w:  # the template: a real writer's row
        w.start("train")
        w.update("train", samples=32)
        w.stop("train", samples=32)
    with open(csv_path, newline="", encoding="utf-8") as f:
        header, *template = list(csv.reader(f))
    cells = template[-1]
    rec = resume.checked_record(cells, header)
    # the cells that change from row to row: counters, and running totals (the interval's value x rows so far)
    counters = ("seq", "step", "stage_step")
    running = {c: cells[header.index(c.split("_", 1)[1])] for c in header
               if c.startswith(("run_", "stage_")) and c not in ("stage_step", "stage_samples", "stage_tokens")
               and cells[header.index(c)] and cells[header.index(c.split("_", 1)[1])]}
    changing = [*counters, "stage_samples", *running]
    for k, c in enumerate(changing):
        cells[header.index(c)] = f"\x00{k}\x00"
    line = io.StringIO()
    csv.writer(line, lineterminator="\r\n").writerow(cells)
    fmt = line.getvalue().replace("{", "{{").replace("}", "}}")
    for k in range(len(changing)):
        fmt = fmt.replace(f"\x00{k}\x00", f"{{{k}}}")
    per = [float(v) for v in running.values()]
    samples = rec.samples
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerow(header)
        for start in range(0, rows, 10_000):
            f.writelines(fmt.format(i, i, i, samples * (i + 1), *[repr(v * (i + 1)) for v in per])
                         for i in range(start, min(rows, start + 10_000)))
    # the checkpoint the writer would have left: every row is the template's interval; the last row's totals
    last = dataclasses.replace(rec, seq=rows - 1, step=rows - 1, stage_step=rows - 1, **{
        c: v * rows for c, v in zip(running, per) if c.startswith("run_")})
    checkpoint.save(str(csv_path), resume.fold(None, (rec if i < rows - 1 else last for i in range(rows))))
    return run


def _timed(fn: Callable[[], object]) -> Callable[[], float]:
    def sample() -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    return sample


def peak_mib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def _without_checkpoint(csv_path: Path) -> Callable[[], object]:
    def call() -> object:
        ck = checkpoint.path_for(str(csv_path))
        os.rename(ck, ck + ".aside")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return resume.from_csv(csv_path)
        finally:
            os.replace(ck + ".aside", ck)
    return call


def _reopen(run: Path) -> Callable[[], object]:
    def call() -> object:
        _writer(run).close()
        return None
    return call


def run(quick: bool = False) -> list[dict]:
    sizes = (2_000, 16_000) if quick else (20_000, 160_000, 1_000_000)
    rounds = 3 if quick else 5
    rows: list[dict] = []
    for n in sizes:
        run_dir = make_run(n)
        csv_path = run_dir / "green.csv"
        mib = csv_path.stat().st_size / MIB
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # the checkpoint matches the CSV: nothing to warn about
            state = resume.from_csv(csv_path)
        assert state is not None and state.run.records == n and state.stages["train"].next_step == n
        variants: dict[str, Callable[[], float]] = {
            "resume": _timed(lambda: resume.from_csv(csv_path)),
            "writer": _timed(_reopen(run_dir)),
        }
        times = {k: Stat.of(v) for k, v in interleave(variants, rounds).items()}
        mem = peak_mib(lambda: resume.from_csv(csv_path))
        rows += [
            row(f"resume, {n:,} rows ({mib:.0f} MiB CSV), with its checkpoint", times["resume"], "s",
                target="<= 1 s", met=times["resume"].median <= 1.0, note="header + checkpoint + last row"),
            row(f"resume, {n:,} rows, peak extra memory", mem, "MiB", target="<= 64 MiB", met=mem <= 64,
                note="tracemalloc peak"),
            row(f"writer re-opening, {n:,} rows (constructor + close)", times["writer"], "s",
                note="lock, CSV adoption, resume, meters, grid, checkpoint at close"),
        ]
        if n > 20_000:  # the old way is minutes and gigabytes here (the probe: 14.9 s, +1.34 GiB at 160k)
            shutil.rmtree(run_dir)
            continue
        old = Stat.of([_timed(lambda: resume.resumed(read_records_counted(csv_path)[0]))()])
        scan = Stat.of([_timed(_without_checkpoint(csv_path))()])
        scanned = _without_checkpoint(csv_path)()
        assert scanned is not None and math.isclose(scanned.run.kwh, state.run.kwh, rel_tol=1e-9)
        old_mem = peak_mib(lambda: resume.resumed(read_records_counted(csv_path)[0]))
        scan_mem = peak_mib(_without_checkpoint(csv_path))
        rows += [
            row(f"resume, {n:,} rows, a77d9f2's way", old, "s", baseline="resume with its checkpoint",
                base=times["resume"], note="every row into a list of Records, then summed"),
            row(f"resume, {n:,} rows, without a checkpoint (older CSV)", scan, "s", baseline="a77d9f2's way",
                base=old, note="every row read once, streaming"),
            row(f"resume, {n:,} rows, a77d9f2's way, peak extra memory", old_mem, "MiB",
                baseline="resume with its checkpoint", base=mem, note="tracemalloc peak"),
            row(f"resume, {n:,} rows, without a checkpoint, peak extra memory", scan_mem, "MiB",
                baseline="a77d9f2's way", base=old_mem, note="tracemalloc peak"),
        ]
        shutil.rmtree(run_dir)
    return rows


def main() -> int:
    return standalone("resume", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
