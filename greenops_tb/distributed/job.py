"""The writer's entry point to distributed measurement.

``attach(...)`` decides whether this process is part of a multi-rank job and
sets up the :class:`~greenops_tb.distributed.exchange.JobAggregator`;
:class:`JobMeter` then stands in for the writer's :class:`~greenops_tb.meters.base.Meter`:
its devices are every rank's devices (``r<rank>/<id>``) and each read returns
the job's cumulative joules, so the stage arithmetic, records, CSV and events
are unchanged and carry job totals with the per-rank breakdown.

Only rank 0 writes (events and CSV); the other ranks measure and take part in
the exchanges, and their ``SummaryWriter`` calls write nothing
(:class:`greenops_tb.sinks.null.NullFileWriter`), as in Lightning's and Hugging Face's rank-zero
logging.
"""
from __future__ import annotations

import warnings
from typing import Mapping

from greenops_tb.distributed.exchange import DEFAULT_TIMEOUT_S, JobAggregator
from greenops_tb.distributed.ranks import detect, prefix_device_id
from greenops_tb.errors import UsageError
from greenops_tb.meters.base import Device, EnergySource, Meter, Reading


def attach(
    distributed: bool | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S, flush_every: int = 1
) -> JobAggregator | None:
    """A JobAggregator when this process is one rank of several, else None.

    ``distributed``: None = automatic (an initialised process group with more than
    one rank); False = measure this process alone; True = require a process group.
    """
    if distributed is False:
        return None
    if distributed not in (None, True):
        raise UsageError(f"distributed must be None (automatic), True or False, got {distributed!r}")
    info = detect()
    if info.initialized and info.distributed:
        return JobAggregator(info, timeout_s=timeout_s, flush_every=flush_every)
    if distributed:
        raise UsageError(
            "distributed=True but no multi-rank process group is initialised: call "
            "torch.distributed.init_process_group() first (world size now: "
            f"{info.world_size}, from {info.source})"
        )
    if info.distributed:
        warnings.warn(
            f"greenops_tb: {info.source} says this is rank {info.rank} of {info.world_size}, but no "
            "torch.distributed process group is initialised, so each rank measures and writes on its own: "
            "create the writer after init_process_group() for job totals, or give each rank its own log_dir",
            RuntimeWarning,
            stacklevel=3,
        )
    return None


class JobMeter:
    """This rank's meter, seen as the whole job's (same interface as Meter)."""

    def __init__(self, meter: Meter, aggregator: JobAggregator) -> None:
        self._meter = meter
        self._agg = aggregator
        aggregator.start(meter.devices, meter.provenance())
        self.devices: tuple[Device, ...] = aggregator.devices()
        self._next: tuple[str, str] | None = None
        self._closing = False

    @property
    def aggregator(self) -> JobAggregator:
        return self._agg

    @property
    def sources(self) -> tuple[EnergySource, ...]:
        return self._meter.sources

    def expect(self, kind: str, stage: str) -> None:
        """Announce that the next read is a stage boundary (``start``/``update``/``stop`` of ``stage``)."""
        self._next = (kind, stage)

    def closing(self) -> None:
        """From now on every read is a ``stop`` boundary (the writer's close stops the open stages)."""
        self._closing = True

    def read(self) -> Reading:
        """This rank's reading in job layout; announced boundaries exchange with the other ranks.

        Unannounced reads (model hooks) do not exchange: they see this rank's devices
        current and the other ranks' as of the last exchange.
        """
        local = self._meter.read()
        hint, self._next = self._next, None
        if hint is None and self._closing:
            hint = ("stop", "(close)")
        kind, stage = hint if hint is not None else (None, "")
        before = self._agg.exchanges
        joules = self._agg.boundary(kind, stage, local.joules, self._meter.provenance(), local.context, local.t_mono)
        return Reading(local.t_mono, local.t_wall, tuple(joules), self._job_context(local, self._agg.exchanges > before))

    def _job_context(self, local: Reading, exchanged: bool) -> tuple[Mapping[str, float], ...] | None:
        """Every rank's device context in job layout: this rank's now; the others' on reads that exchanged.

        The others' context is what their last exchange said: gauges as of then, means (utilisation)
        over the interval since their previous exchange, on their own clock (see
        :class:`~greenops_tb.distributed.context.Means`). A record that ends between exchanges carries
        none for them rather than a stale value.
        """
        rank = self._agg.info.rank
        by_id: dict[str, Mapping[str, float]] = {}
        for r, (lay, contexts) in enumerate(zip(self._agg.layouts, self._agg.contexts)):
            if r == rank or not exchanged:
                continue
            for d, c in zip(lay.devices, contexts):
                if c:
                    by_id[prefix_device_id(r, d.id)] = c
        if local.context is not None:
            by_id.update((prefix_device_id(rank, d.id), c) for d, c in zip(self._meter.devices, local.context))
        if not by_id:
            return None
        return tuple(by_id.get(d.id, {}) for d in self.devices)

    def provenance(self) -> tuple[str, ...]:
        return self._agg.provenance()

    def close(self) -> None:
        self._agg.close()
        self._meter.close()


def writes_files(aggregator: JobAggregator | None) -> bool:
    """True when this process writes events and CSV: a single process, or rank 0 of a job."""
    return aggregator is None or aggregator.info.rank == 0
