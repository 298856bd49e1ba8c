"""Finding an inference bench: its manifest (``inference.json``) and the runs of its variants.

The CLI passes the bench's log dir; the Green tab passes the runs the user selected, named relative to
TensorBoard's logdir (``benches/mlp/eager``...): they belong to one bench when they share a directory
that holds a manifest and every one of them is a variant of it.
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from greenops_tb.errors import InputError, NewerFormatError
from greenops_tb.format.bench import BENCH_FILE, BenchManifest
from greenops_tb.format.schema import Record
from greenops_tb.readers.events import read_runs
from greenops_tb.readers.runs import open_logdir

#: how deep below a given directory to look for benches when it is not one itself
SEARCH_DEPTH = 3


def read_manifest(bench_dir: str | Path) -> BenchManifest:
    """The manifest of the bench in ``bench_dir``; InputError saying what to pass when there is none."""
    d = Path(bench_dir).expanduser()
    path = d / BENCH_FILE
    if not path.is_file():
        found = sorted(str(p.parent) for n in range(1, SEARCH_DEPTH + 1) for p in d.glob("/".join(["*"] * n)
                                                                                            + "/" + BENCH_FILE))
        hint = f"; benches below it: {', '.join(found[:5])}" if found else " (written by InferenceBench.run())"
        raise InputError(f"{d}: no {BENCH_FILE} here, so not an inference bench's log_dir{hint}")
    try:
        return BenchManifest.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, NewerFormatError) as err:
        raise InputError(f"{path}: {err}") from err


def read_bench(bench_dir: str | Path, loader: str = "auto") -> tuple[BenchManifest, dict[str, list[Record]]]:
    """The manifest and each built variant's records (variant name -> records), read from its run."""
    manifest = read_manifest(bench_dir)
    wanted = {v.run: v.name for v in manifest.variants if v.built}
    with open_logdir(bench_dir, loader) as logdir:
        missing = [run for run in wanted if run not in logdir.runs]
        if missing:
            raise InputError(f"{bench_dir}: the bench's variant runs {', '.join(missing)} have no green data "
                             f"(runs found: {', '.join(logdir.runs)})")
        return manifest, {wanted[d.run]: d.records for d in logdir.read_all(list(wanted))}


def read_selected(provider: Any, ctx: Any, experiment: str, logdir: str, runs: list[str]
                  ) -> tuple[str, BenchManifest, dict[str, list[Record]]] | None:
    """The Green tab's case: ``(prefix, manifest, variant -> records)`` when ``runs`` are variants of one
    bench (see :func:`bench_of_runs`), read through the data provider; None otherwise."""
    found = bench_of_runs(logdir, runs)
    if found is None:
        return None
    prefix, manifest = found
    names = {posixpath.join(prefix, v.run) if prefix else v.run: v.name for v in manifest.variants if v.built}
    data = read_runs(provider, ctx, experiment, runs=list(names))
    missing = sorted(set(names) - set(data))
    if missing:
        raise InputError(f"the bench's variant runs {', '.join(missing)} have no green data")
    return prefix, manifest, {names[run]: d.records for run, d in data.items() if run in names}


def bench_of_runs(logdir: str, runs: list[str]) -> tuple[str, BenchManifest] | None:
    """``(prefix, manifest)`` when ``runs`` (names relative to ``logdir``) are variants of one bench whose
    directory is ``logdir/prefix``; None otherwise (no local logdir, no manifest, runs of several benches)."""
    if not logdir or "://" in logdir or not runs:
        return None
    parents = {posixpath.dirname(r) for r in runs}
    if len(parents) != 1:
        return None
    prefix = parents.pop()
    try:
        manifest = read_manifest(Path(logdir) / prefix)
    except InputError:
        return None
    names = {v.run for v in manifest.variants if v.built}
    return (prefix, manifest) if all(posixpath.basename(r) in names for r in runs) else None
