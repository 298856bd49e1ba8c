"""Job-wide energy: every rank's interval joules combined at record boundaries.

How it works
------------
* :class:`JobAggregator` is created on **every** rank after
  ``torch.distributed.init_process_group`` (the writer does this). It creates
  ONE extra gloo process group with its own ``timeout`` (a collective over the
  default group, so every rank must create its writer). Collectives then run on
  CPU tensors whatever the training backend is: with nccl nothing has to be
  moved to the rank's CUDA device and the training streams are not touched.
* :meth:`select_sources` keeps the sources this rank must measure: GPUs on
  every rank (each rank measures the GPU it uses), host-level sources (RAPL,
  CPU, RAM) only on the lowest rank of each host, so nothing is counted twice.
  A source may say otherwise with a ``scope`` attribute: ``"host"`` or
  ``"process"`` (per-process models measured by every rank).
* At each record the writer calls :meth:`submit` with this rank's interval
  joules per device. Every ``flush_every`` records, and at every stage
  ``stop()``, all ranks exchange their pending intervals in one ``all_gather``
  and get back :class:`JobInterval` values whose ``devices`` are keyed
  ``r<rank>/<device id>``: the job total is their sum, and the per-rank and
  per-host breakdown is in the ids (see :mod:`greenops_tb.distributed.breakdown`).

Cost and trade-off of ``flush_every``
-------------------------------------
One exchange is one gloo ``all_gather`` of a small float64 tensor: a few
hundred microseconds with 2 ranks on one host (``benchmarks/bench_distributed.py``),
more across hosts. With ``flush_every=1`` (default) every record pays it and
rank 0 writes each row the moment it closes. With ``flush_every=N`` per-step
``update()`` records are held until N are pending (or the stage stops) and then
exchanged at once: the cost per record drops about N-fold, but rank 0's CSV and
events lag by up to N-1 records, and a crash loses the held ones. The flush
point depends only on the sequence of records, so it is the same on every rank.

Rules and errors
----------------
* Every rank must emit the same records in the same order (same stages,
  entered and left in the same order). A difference raises
  :class:`StageOrderError` on every rank, naming each rank's stages.
* A rank that died, is stuck, or skipped a boundary makes the others raise
  :class:`RankTimeoutError` within ``timeout_s`` (gloo's own deadline), never
  hang. Both errors carry this rank's own intervals in ``pending`` so the
  caller can still record them; afterwards the aggregator works rank-locally
  (provenance says so, one warning) so ``close()`` never waits again.
"""
from __future__ import annotations

import datetime
import logging
import threading
import time
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Sequence

from greenops_tb.distributed.ranks import RankInfo, detect, prefix_device_id
from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.records import DeviceEnergy

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60.0
J_PER_KWH = 3.6e6
HOST_KINDS = frozenset({"cpu", "ram"})
LOCAL_ONLY = " (this rank only: job aggregation failed)"
_HEADER = 5  # stage crc, final flag, seq, provenance version, device count


class DistributedError(RuntimeError):
    """Aggregation across ranks failed. ``pending``: this rank's intervals that were not combined."""

    def __init__(self, message: str, pending: Sequence["JobInterval"] = ()) -> None:
        super().__init__(message)
        self.pending: list[JobInterval] = list(pending)


class RankTimeoutError(DistributedError):
    """A rank died, is stuck, or did not reach the same record boundary in time."""


class StageOrderError(DistributedError):
    """Ranks emitted different stages (or a different number of records) at the same point."""


@dataclass(frozen=True, slots=True)
class JobInterval:
    """One record's interval, combined over ranks."""

    stage: str
    payload: Any  # whatever the caller passed to submit() for this record
    devices: dict[str, DeviceEnergy]  # "r<rank>/<device id>" -> energy of the interval
    complete: bool  # False: only this rank's devices (aggregation failed)


@dataclass(frozen=True, slots=True)
class RankLayout:
    """One rank's measured devices, gathered once at :meth:`JobAggregator.start`."""

    rank: int
    host: str
    devices: tuple[Device, ...]
    provenance: tuple[str, ...] = field(default=())


@dataclass(slots=True)
class _Pending:
    stage: str
    final: bool
    seq: int
    joules: tuple[float, ...]
    payload: Any


def host_level(source: EnergySource) -> bool:
    """Whether ``source`` measures something shared by the whole host (measure once per host)."""
    scope = getattr(source, "scope", None)
    if scope is not None:
        return scope == "host"
    return any(d.kind in HOST_KINDS for d in source.devices)


def stage_code(stage: str) -> float:
    """A stage name as an exactly representable float for the order check."""
    return float(zlib.crc32(stage.encode("utf-8")))


class JobAggregator:
    """Combines every rank's interval energy at record boundaries (create it on every rank)."""

    def __init__(
        self,
        info: RankInfo | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        flush_every: int = 1,
        group: Any = None,
    ) -> None:
        import torch.distributed as dist

        info = detect() if info is None else info
        if not info.initialized:
            raise ValueError(
                "JobAggregator needs an initialised process group: call torch.distributed.init_process_group() "
                "before creating the writer"
            )
        if not (isinstance(flush_every, int) and flush_every >= 1):
            raise ValueError(f"flush_every must be an integer >= 1 (records per exchange), got {flush_every!r}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
        self.info = info
        self.timeout_s = float(timeout_s)
        self.flush_every = flush_every
        self._dist = dist
        self._lock = threading.RLock()
        self._pending: list[_Pending] = []
        self._seq = 0
        self._broken: DistributedError | None = None
        self._layouts: list[RankLayout] = []
        self._local_prov: tuple[str, ...] = ()
        self._prov_version = 0
        self._known_versions: list[int] = []
        self.exchanges = 0
        self.exchange_seconds = 0.0
        t0 = time.perf_counter()
        try:
            self._group = group if group is not None else dist.new_group(
                backend="gloo", timeout=datetime.timedelta(seconds=self.timeout_s)
            )
            hosts: list[Any] = [None] * info.world_size
            dist.all_gather_object(hosts, info.host, group=self._group)
        except Exception as err:  # noqa: BLE001 - turned into a clear error
            raise RankTimeoutError(
                f"greenops_tb rank {info.rank}: setting up job-wide measurement failed after "
                f"{time.perf_counter() - t0:.1f}s ({type(err).__name__}: {err}). Create the writer on EVERY rank "
                f"(it is a collective), or pass distributed=False to measure this rank alone"
            ) from err
        self.hosts: list[str] = [str(h) for h in hosts]
        self.host_leader: dict[str, int] = {}
        for rank, host in enumerate(self.hosts):
            self.host_leader.setdefault(host, rank)

    # -- setup ---------------------------------------------------------------
    @property
    def measures_host(self) -> bool:
        """True on the lowest rank of this host: it measures host-level sources."""
        return self.host_leader[self.info.host] == self.info.rank

    def select_sources(self, sources: Sequence[EnergySource]) -> list[EnergySource]:
        """The sources this rank measures; the others are closed."""
        kept: list[EnergySource] = []
        for src in sources:
            if self.measures_host or not host_level(src):
                kept.append(src)
            else:
                try:
                    src.close()
                except Exception:  # noqa: BLE001
                    log.debug("closing %s failed", type(src).__name__, exc_info=True)
        return kept

    def start(self, devices: Sequence[Device], provenance: Sequence[str]) -> None:
        """Exchange every rank's device list once (a collective)."""
        mine = RankLayout(self.info.rank, self.info.host, tuple(devices), tuple(provenance))
        gathered: list[Any] = [None] * self.info.world_size
        self._collective(lambda: self._dist.all_gather_object(gathered, mine, group=self._group), "start", [])
        self._layouts = list(gathered)
        self._local_prov = tuple(provenance)
        self._known_versions = [0] * self.info.world_size
        self._width = _HEADER + max(len(lay.devices) for lay in self._layouts)

    @property
    def layouts(self) -> list[RankLayout]:
        return list(self._layouts)

    def devices_metadata(self) -> dict[str, dict[str, str]]:
        """Job-wide device id -> kind, name, provenance, host (for RunMetadata.devices)."""
        out: dict[str, dict[str, str]] = {}
        for lay in self._layouts:
            for dev, prov in zip(lay.devices, lay.provenance):
                out[prefix_device_id(lay.rank, dev.id)] = {
                    "kind": dev.kind,
                    "name": dev.name,
                    "provenance": prov,
                    "host": lay.host,
                }
        return out

    def metadata_extra(self) -> dict[str, Any]:
        """World size, ranks and hosts for ``RunMetadata.extra``."""
        hosts: dict[str, list[int]] = {}
        for rank, host in enumerate(self.hosts):
            hosts.setdefault(host, []).append(rank)
        return {
            "world_size": self.info.world_size,
            "ranks": [
                {"rank": lay.rank, "host": lay.host, "devices": [prefix_device_id(lay.rank, d.id) for d in lay.devices]}
                for lay in self._layouts
            ],
            "hosts": hosts,
            "host_level_rank": dict(self.host_leader),
            "backend": str(self._dist.get_backend()),
            "launcher": self.info.source,
            "aggregation": {"group": "gloo", "flush_every": self.flush_every, "timeout_s": self.timeout_s},
        }

    # -- per record -------------------------------------------------------------
    def submit(
        self,
        stage: str,
        joules: Sequence[float],
        provenance: Sequence[str],
        payload: Any = None,
        *,
        final: bool = True,
    ) -> list[JobInterval]:
        """Queue this rank's interval; returns the combined intervals ready now (maybe none).

        ``final``: the stage stopped (always exchanges). Collective when it exchanges.
        """
        with self._lock:
            prov = tuple(provenance)
            if prov != self._local_prov:
                self._local_prov = prov
                self._prov_version += 1
            item = _Pending(stage, final, self._seq, tuple(float(j) for j in joules), payload)
            self._seq += 1
            if self._broken is not None:
                return [self._local(item)]
            self._pending.append(item)
            if final or len(self._pending) >= self.flush_every:
                return self._exchange()
            return []

    def flush(self) -> list[JobInterval]:
        """Exchange whatever is pending now (a collective; call on every rank, e.g. at close)."""
        with self._lock:
            if not self._pending:
                return []
            if self._broken is not None:
                items, self._pending = self._pending, []
                return [self._local(i) for i in items]
            return self._exchange()

    def close(self) -> list[JobInterval]:
        """Flush, then release the extra process group. Returns the last combined intervals."""
        out = self.flush()
        group, self._group = self._group, None
        if group is not None and self._broken is None and self._dist.is_initialized():
            try:
                self._dist.destroy_process_group(group)
            except Exception:  # noqa: BLE001 - releasing is best effort
                log.debug("destroying the aggregation group failed", exc_info=True)
        return out

    # -- internals -----------------------------------------------------------------
    def _local(self, item: _Pending) -> JobInterval:
        devices = {
            prefix_device_id(self.info.rank, d.id): DeviceEnergy(d.kind, j / J_PER_KWH, p + LOCAL_ONLY)
            for d, j, p in zip(self._layouts[self.info.rank].devices, item.joules, self._local_prov)
        }
        return JobInterval(item.stage, item.payload, devices, complete=False)

    def _collective(self, fn: Any, what: str, items: list[_Pending]) -> None:
        if self._group is None or not self._dist.is_initialized():
            self._fail(
                RankTimeoutError(
                    f"greenops_tb rank {self.info.rank}: the process group was destroyed before the writer was "
                    f"closed; close the writer before torch.distributed.destroy_process_group()"
                ),
                items,
                raise_it=False,
            )
            return
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - any transport failure becomes one clear error
            waited = time.perf_counter() - t0
            self._fail(
                RankTimeoutError(
                    f"greenops_tb rank {self.info.rank}: no answer from every rank at {what} after {waited:.1f}s "
                    f"(timeout {self.timeout_s:g}s): a rank died, is stuck, or did not reach this record boundary. "
                    f"Every rank must open and close the same stages in the same order. "
                    f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
                ),
                items,
            )
        self.exchanges += 1
        self.exchange_seconds += time.perf_counter() - t0

    def _fail(self, err: DistributedError, items: list[_Pending], *, raise_it: bool = True) -> None:
        self._pending = []
        err.pending = [self._local(i) for i in items]
        self._broken = err
        if raise_it:
            raise err
        warnings.warn(str(err), RuntimeWarning, stacklevel=4)

    def _exchange(self) -> list[JobInterval]:
        import torch

        items, self._pending = self._pending, []
        what = f"stage {items[-1].stage!r} (record #{items[-1].seq})"
        mine = torch.full((self.flush_every, self._width), -1.0, dtype=torch.float64)
        for row, it in enumerate(items):
            n = len(it.joules)
            mine[row, :_HEADER] = torch.tensor(
                [stage_code(it.stage), float(it.final), float(it.seq), float(self._prov_version), float(n)],
                dtype=torch.float64,
            )
            mine[row, _HEADER:_HEADER + n] = torch.tensor(it.joules, dtype=torch.float64)
        out = [torch.empty_like(mine) for _ in range(self.info.world_size)]
        self._collective(lambda: self._dist.all_gather(out, mine, group=self._group), what, items)
        if self._broken is not None:  # group destroyed: rank-local from here on
            return [self._local(i) for i in items]
        table = torch.stack(out).numpy()  # [rank, row, column]
        if (table[:, :, :3] != table[0:1, :, :3]).any():
            self._order_error(items, what)
        versions = [int(table[r, 0, 3]) for r in range(self.info.world_size)]
        if versions != self._known_versions:
            self._refresh_provenance(versions, items, what)
        result: list[JobInterval] = []
        for row, it in enumerate(items):
            devices: dict[str, DeviceEnergy] = {}
            for lay in self._layouts:
                vals = table[lay.rank, row, _HEADER:_HEADER + len(lay.devices)]
                for dev, j, prov in zip(lay.devices, vals, lay.provenance):
                    devices[prefix_device_id(lay.rank, dev.id)] = DeviceEnergy(dev.kind, float(j) / J_PER_KWH, prov)
            result.append(JobInterval(it.stage, it.payload, devices, complete=True))
        return result

    def _refresh_provenance(self, versions: list[int], items: list[_Pending], what: str) -> None:
        provs: list[Any] = [None] * self.info.world_size
        self._collective(lambda: self._dist.all_gather_object(provs, self._local_prov, group=self._group), what, items)
        self._layouts = [
            RankLayout(lay.rank, lay.host, lay.devices, tuple(p)) for lay, p in zip(self._layouts, provs)
        ]
        self._known_versions = versions

    def _order_error(self, items: list[_Pending], what: str) -> None:
        names: list[Any] = [None] * self.info.world_size
        mine = [(it.seq, it.stage, "stop" if it.final else "update") for it in items]
        self._collective(lambda: self._dist.all_gather_object(names, mine, group=self._group), what, items)
        lines = "; ".join(
            f"rank {r}: " + ", ".join(f"#{seq} {kind}({stage!r})" for seq, stage, kind in seqs)
            for r, seqs in enumerate(names)
        )
        self._fail(
            StageOrderError(
                f"greenops_tb: ranks closed different stages at the same point ({lines}). Every rank must open and "
                f"close the same stages in the same order (and call update() as often); measuring continues per rank"
            ),
            items,
        )
