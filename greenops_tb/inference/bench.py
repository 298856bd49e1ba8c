"""``InferenceBench``: energy per request of model variants, measured side by side in interleaved rounds.

Each built variant is its own :class:`~greenops_tb.writer.GreenSummaryWriter` run, ``<log_dir>/<variant>/``:
stage ``warmup`` (untimed calls, a compile's cost shows there) and, per batch size ``b``, stage ``infer_b<b>``
with one record per round whose ``samples`` are the round's requests. Round ``r`` runs the variants in the order
rotated by ``r`` (A B C, B C A, C A B, ...), so drift of the machine falls on every variant alike. The stage
boundaries synchronise CUDA (the writer's ``sync_cuda``), and each timed call is synchronised too, so a window
holds exactly its calls' work. ``<log_dir>/inference.json`` (:mod:`greenops_tb.format.bench`) keeps the
settings, the latencies, the output comparison and the variants not built; :mod:`greenops_tb.analysis.inference`
turns it and the runs into results.
"""
from __future__ import annotations

import gc
import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

import torch

from greenops_tb.analysis.inference import BenchResult, bench_result
from greenops_tb.errors import StateError, UsageError
from greenops_tb.format.bench import (
    BENCH_FILE,
    WARMUP_STAGE,
    BatchEntry,
    BenchManifest,
    Tolerance,
    VariantEntry,
    stage_of,
)
from greenops_tb.format.schema import Record
from greenops_tb.inference.outputs import batch_of, compare, snapshot
from greenops_tb.inference.variants import Fn, Variant, as_args, standard
from greenops_tb.meters.base import EnergySource
from greenops_tb.meters.sync import sync_accelerators
from greenops_tb.sinks.atomic import write_atomic
from greenops_tb.writer import GreenSummaryWriter

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MetersFactory = Callable[[], Sequence[EnergySource]]


def _positive(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _device_of(args: tuple[Any, ...]) -> str:
    return next((str(a.device) for a in args if isinstance(a, torch.Tensor)), "cpu")


def _failed(v: Variant, baseline: bool, b: int, err: Exception, meta: dict[str, tuple[str, str]]) -> None:
    """Note why ``v`` failed at batch size ``b`` (StateError for the baseline: nothing to compare with)."""
    if baseline:
        raise StateError(f"the baseline {v.name!r} failed at batch size {b}: {type(err).__name__}: {err}") from err
    meta[v.name] = (meta[v.name][0], f"failed at batch size {b}: {type(err).__name__}: {err}"[:600])
    log.warning("variant %s failed at batch size %d: %s", v.name, b, err)


class InferenceBench:
    """Energy per request of model variants, each its own green run under ``log_dir``.

    ``tolerance``: outputs match the baseline's when ``|x - base| <= atol + rtol * |base|`` element-wise
    (default atol 1e-4, rtol 1e-3). ``meters``: a callable returning a fresh list of energy sources for each
    variant's writer (sources are not shared between writers); every other keyword (``country``, ``region``,
    ``cloud``, ``pue``, ``price_per_kwh``, ``gpus``, ``cpu_attribution``...) goes to each
    :class:`~greenops_tb.writer.GreenSummaryWriter` as it is.
    """

    def __init__(self, log_dir: str | os.PathLike[str], *, tolerance: Tolerance | None = None,
                 meters: MetersFactory | None = None, **writer_options: Any) -> None:
        if meters is not None and not callable(meters):
            raise UsageError("meters= must be a callable returning a new list of sources for each variant's writer, "
                             "e.g. meters=lambda: [ConstantPowerSource({'cpu:0': 65.0})]")
        for bad in ("csv_path", "run_name", "log_dir"):
            if bad in writer_options:
                raise UsageError(f"{bad}= is set by the bench for each variant's run; leave it out")
        self.log_dir = Path(log_dir)
        self.tolerance = tolerance or Tolerance()
        self._meters = meters
        self._options = writer_options
        self._variants: list[Variant] = []
        self._ran = False

    @property
    def variants(self) -> list[Variant]:
        """Every variant added, built or not (``reason`` says why not), the baseline first."""
        return list(self._variants)

    def add(self, name: str, fn: Fn, example: Any, *, how: str = "your callable") -> "InferenceBench":
        """Add ``fn`` with one request's input ``example`` (a tensor or a tuple of args; tensors' leading
        dimension is the batch). The first variant added is the baseline."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise UsageError(f"bad variant name {name!r}: use letters, digits, '_', '-', '.' (it names a directory)")
        if any(v.name == name for v in self._variants):
            raise UsageError(f"variant {name!r} was added already; give each variant its own name")
        if not callable(fn):
            raise UsageError(f"variant {name!r}: fn must be callable, got {fn!r}")
        self._variants.append(Variant(name, fn, as_args(example), how))
        return self

    def add_standard(self, model: torch.nn.Module, example: Any, *, skip: Collection[str] = ()) -> list[str]:
        """Add the standard variants of ``model`` (see :mod:`greenops_tb.inference.variants`); those that do
        not apply, fail to build or are named in ``skip`` are kept with the reason. Returns the names added."""
        added = []
        try:
            variants = standard(model, example, skip)
        except ValueError as err:
            raise UsageError(str(err)) from err
        for v in variants:
            if any(x.name == v.name for x in self._variants):
                raise UsageError(f"variant {v.name!r} was added already; add_standard adds each standard name once")
            self._variants.append(v)
            added.append(v.name)
            if v.reason:
                log.info("variant %s not built: %s", v.name, v.reason)
        return added

    def run(self, requests: int = 100, batch_size: int | Sequence[int] = 1, rounds: int = 5,
            warmup: int = 3) -> BenchResult:
        """Time and measure every built variant: per batch size, ``rounds`` interleaved rounds of ``requests``
        requests each (``ceil(requests / batch size)`` calls), after ``warmup`` untimed calls (at least one: the
        call whose outputs are compared with the baseline's)."""
        sizes = [batch_size] if isinstance(batch_size, int) else list(batch_size)
        sizes = [_positive("batch_size", b) for b in sizes]
        if not sizes or len(set(sizes)) != len(sizes):
            raise UsageError(f"batch_size must be an int or a list of distinct ints, got {batch_size!r}")
        _positive("requests", requests)
        _positive("rounds", rounds)
        _positive("warmup", warmup, 0)
        self._check_ready()
        self._ran = True
        built = [v for v in self._variants if v.fn is not None]
        meta = {v.name: (v.how, v.reason) for v in self._variants}
        writers = {v.name: self._writer(v.name) for v in built}
        entries: dict[str, list[BatchEntry]] = {v.name: [] for v in built}
        records: dict[str, list[Record]] = {v.name: [] for v in built}
        started = time.time()
        try:
            for b in sizes:
                live = [v for v in built if not meta[v.name][1]]
                base = self._warm(live, b, warmup, writers, meta)
                lat = self._rounds([v for v in live if not meta[v.name][1]], b, requests, rounds, writers, records,
                                   meta)
                for v in live:
                    if not meta[v.name][1]:
                        entries[v.name].append(BatchEntry(b, lat[v.name], *base[v.name]))
        finally:
            for w in writers.values():
                w.close()
        manifest = BenchManifest(
            requests=requests, rounds=rounds, warmup=warmup, batch_sizes=sizes, tolerance=self.tolerance,
            device=_device_of(self._variants[0].example), started_at=started,
            variants=[VariantEntry(v.name, v.name if v.name in writers else "", meta[v.name][0], meta[v.name][1],
                                   entries.get(v.name, []) if not meta[v.name][1] else [])
                      for v in self._variants],
        )
        write_atomic(self.log_dir / BENCH_FILE, manifest.dumps())
        return bench_result(manifest, records)

    def _check_ready(self) -> None:
        if self._ran:
            raise StateError("this bench has run already; create a new InferenceBench (with a new log_dir)")
        if not self._variants:
            raise UsageError("no variants: add some with add(name, fn, example) or add_standard(model, example)")
        if self._variants[0].fn is None:
            raise UsageError(f"the baseline (the first variant, {self._variants[0].name!r}) was not built: "
                             f"{self._variants[0].reason}")
        if (self.log_dir / BENCH_FILE).exists():
            raise UsageError(f"{self.log_dir / BENCH_FILE} exists: that log_dir holds a bench already; "
                             "pass a new log_dir (nothing there was changed)")

    def _writer(self, name: str) -> GreenSummaryWriter:
        opts = dict(self._options)
        if self._meters is not None:
            opts["meters"] = list(self._meters())
        return GreenSummaryWriter(str(self.log_dir / name), **opts)

    def _warm(self, live: list[Variant], b: int, warmup: int, writers: dict[str, GreenSummaryWriter],
              meta: dict[str, tuple[str, str]]) -> dict[str, tuple[bool, float, float, str]]:
        """Untimed calls at batch size ``b``; each variant's last output compared with the baseline's."""
        outputs: dict[str, list[torch.Tensor]] = {}
        for v in live:
            args = batch_of(v.example, b)
            try:
                with writers[v.name].stage(WARMUP_STAGE):
                    for _ in range(max(warmup, 1)):
                        out = v.fn(*args)  # type: ignore[misc]
                    sync_accelerators()
            except Exception as err:  # noqa: BLE001 - a variant that fails is reported, the others go on
                _failed(v, v is live[0], b, err, meta)
                continue
            outputs[v.name] = snapshot(out)
        base = outputs[live[0].name]
        return {name: compare(out, base, self.tolerance) for name, out in outputs.items()}

    def _rounds(self, live: list[Variant], b: int, requests: int, rounds: int,
                writers: dict[str, GreenSummaryWriter], records: dict[str, list[Record]],
                meta: dict[str, tuple[str, str]]) -> dict[str, list[float]]:
        """``rounds`` interleaved rounds; each variant's call latencies (its rounds' records go to ``records``).
        A variant that raises is reported in ``meta`` and leaves the rounds; the others go on."""
        calls = math.ceil(requests / b)
        lat: dict[str, list[float]] = {v.name: [] for v in live}
        batches = {v.name: batch_of(v.example, b) for v in live}
        stage = stage_of(b)
        for r in range(rounds):
            for v in live[r % len(live):] + live[:r % len(live)]:
                if meta[v.name][1]:
                    continue
                w, args, fn, times = writers[v.name], batches[v.name], v.fn, lat[v.name]
                gc.collect()  # as timeit does: no garbage collection of earlier work inside a window
                gc.disable()
                w.start(stage)
                try:
                    for _ in range(calls):
                        t0 = time.perf_counter()
                        fn(*args)  # type: ignore[misc]
                        sync_accelerators()
                        times.append(time.perf_counter() - t0)
                except Exception as err:  # noqa: BLE001 - a variant that fails is reported, the others go on
                    w.stop(stage)
                    _failed(v, v is live[0], b, err, meta)
                    continue
                finally:
                    gc.enable()
                records[v.name].append(w.stop(stage, samples=calls * b))
        return lat
