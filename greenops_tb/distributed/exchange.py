"""Job-wide energy: every rank's cumulative joules exchanged at stage boundaries.

How it works
------------
* :class:`JobAggregator` is created on **every** rank after
  ``torch.distributed.init_process_group`` (the writer does this). It creates
  ONE extra gloo process group with its own ``timeout`` (a collective over the
  default group, so every rank must create its writer). Exchanges then run on
  CPU tensors whatever the training backend is: with nccl nothing is moved to
  the rank's CUDA device and the training streams are not touched.
* :meth:`select_sources` keeps the sources this rank measures: GPUs on every
  rank (each rank measures the GPU it uses), host-level sources (RAPL, CPU,
  RAM) only on the lowest rank of each host, so nothing is counted twice; a
  host is its identity (:func:`~greenops_tb.distributed.identity.host_identity`:
  the boot id), not its host name.
  Per-process models (this process's CPU time and RSS) are measured by every
  rank; every source says which with its ``scope``, see :func:`host_level`.
* At each stage boundary (``start``, ``update``, ``stop``) the writer calls
  :meth:`boundary` with this rank's cumulative joules per device. When an
  exchange is due, all ranks ``all_gather`` theirs (with their devices' context,
  :mod:`greenops_tb.distributed.context`), and :attr:`job_joules`
  holds every device of the job, keyed ``r<rank>/<device id>``
  (:meth:`device_ids`): a record's energy is the sum over ranks, and the
  per-rank and per-host breakdown is in the ids
  (:mod:`greenops_tb.distributed.breakdown`).

When exchanges happen, cost and trade-off of ``flush_every``
------------------------------------------------------------
``start`` and ``stop`` always exchange, so every stage's totals are exact
job totals. ``update`` (per-step records) exchanges every ``flush_every``-th
time (default 1: every time). One exchange is one gloo ``all_gather`` of a
small float64 tensor: a few hundred microseconds with 2 ranks on one host
(``benchmarks/bench_distributed.py``), more across hosts. With
``flush_every=N`` the cost per step drops N-fold; in between, a record holds
the other ranks' energy as of the last exchange, and the record at the next
exchange catches up (stage and run totals are exact at every exchange, the
per-step split across those N records is not). Whether a boundary exchanges
depends only on the sequence of boundaries, so it is the same on every rank.

Rules and errors
----------------
* Every rank must open and close the same stages in the same order (and call
  ``update`` as often), from one thread per rank: a running checksum of the boundary sequence is
  compared at each exchange; a difference raises :class:`StageOrderError` on
  every rank, naming each rank's boundaries since the last good exchange.
* A rank that died, is stuck, or skipped a boundary makes the others raise
  :class:`RankTimeoutError` within ``timeout_s`` (gloo's own deadline on the
  extra group), never hang. Afterwards the aggregator works rank-locally
  (no more collectives, so ``close()`` never waits again): this rank's devices
  keep counting with a provenance saying so, the other ranks' stay frozen.
"""
from __future__ import annotations

import datetime
import logging
import threading
import time
import warnings
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from greenops_tb.distributed import context as ctx
from greenops_tb.distributed.identity import host_identity, job_identity, ranks_by
from greenops_tb.distributed.ranks import RankInfo, cuda_state, detect, prefix_device_id, rank_gpu
from greenops_tb.errors import DistributedError as DistributedError
from greenops_tb.errors import RankTimeoutError as RankTimeoutError
from greenops_tb.errors import StageOrderError as StageOrderError
from greenops_tb.errors import UsageError
from greenops_tb.meters.base import Device, EnergySource

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60.0
BOUNDARY_KINDS = ("start", "update", "stop")
LOCAL_ONLY = " (this rank only: job aggregation failed)"
FROZEN = " (no data: job aggregation failed)"
_HEADER = 5  # chain checksum, boundary count, provenance version, device count, the rank's clock


@dataclass(frozen=True, slots=True)
class RankLayout:
    """One rank's measured devices, gathered once at :meth:`JobAggregator.start`."""

    rank: int
    host: str
    devices: tuple[Device, ...]
    provenance: tuple[str, ...]


def host_level(source: EnergySource) -> bool:
    """Whether ``source`` measures something shared by the whole host (measured once per host).

    The source's ``scope`` decides (see :attr:`EnergySource.scope`): RAPL is "host", the
    model sources (this process's CPU time and resident memory) "process", NVML "device";
    an undeclared source is host-level unless it only has GPUs.
    """
    scope = source.scope or ("device" if all(d.kind == "gpu" for d in source.devices) else "host")
    return scope == "host"


class JobAggregator:
    """Exchanges every rank's cumulative joules at stage boundaries (create it on every rank)."""

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
            raise UsageError(
                "job-wide measurement needs an initialised process group: call "
                "torch.distributed.init_process_group() before creating the writer"
            )
        if isinstance(flush_every, bool) or not isinstance(flush_every, int) or flush_every < 1:
            raise UsageError(f"flush_every must be an int >= 1 (update() calls per exchange), got {flush_every!r}")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
            raise UsageError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
        self.info = info
        self.timeout_s = float(timeout_s)
        self.flush_every = flush_every
        self._dist = dist
        self._lock = threading.Lock()
        self._since: list[tuple[int, str, str]] = []  # boundaries since the last exchange: (count, kind, stage)
        self._count = 0
        self._chain = 0
        self._updates = 0
        self._broken: DistributedError | None = None
        self._layouts: list[RankLayout] = []
        self._local_prov: tuple[str, ...] = ()
        self._local_keys: ctx.Keys = ()  # this rank's context keys now; agreed ones in self._ctx_keys
        self._local_ctx: Any = None
        self._clock = 0.0  # perf_counter of this rank's reading (its context's instant)
        self._ctx_keys: list[ctx.Keys] = []
        self.contexts: list[list[dict[str, float]]] = []  # per rank, its devices' context at the last exchange
        self._prov_version = 0
        self._known_versions: list[int] = []
        self._job: list[float] = []
        self._slices: list[slice] = []
        self.exchanges = 0
        t0 = time.perf_counter()
        try:
            self._group = group if group is not None else dist.new_group(
                backend="gloo", timeout=datetime.timedelta(seconds=self.timeout_s)
            )
            hosts: list[Any] = [None] * info.world_size
            dist.all_gather_object(hosts, (info.host, host_identity()), group=self._group)
        except Exception as err:  # noqa: BLE001 - turned into a clear error
            raise RankTimeoutError(
                f"greenops_tb rank {info.rank}: setting up job-wide measurement failed after "
                f"{time.perf_counter() - t0:.1f}s ({type(err).__name__}: {_first_line(err)}). Create the writer on "
                f"EVERY rank (it is a collective), or pass distributed=False to measure this rank alone"
            ) from err
        self.hosts: list[str] = [str(h) for h, _ in hosts]  # host names, as each rank sees its own
        self.host_ids: list[str] = [str(i) for _, i in hosts]  # physical hosts (see distributed.identity)
        self.host_leader: dict[str, int] = {}  # host id -> its lowest rank, which measures host-level sources
        for rank, host_id in enumerate(self.host_ids):
            self.host_leader.setdefault(host_id, rank)

    # -- setup ---------------------------------------------------------------
    @property
    def measures_host(self) -> bool:
        """True on the lowest rank of this host: it measures the host-level sources."""
        return self.host_leader[self.host_ids[self.info.rank]] == self.info.rank

    @property
    def layouts(self) -> tuple[RankLayout, ...]:
        """Every rank's devices and provenance (after :meth:`start`)."""
        return tuple(self._layouts)

    def default_gpus(self) -> list[int] | str | None:
        """``gpus=`` for this rank's default sources: the GPU it uses; or, when GPUs cannot
        be told apart per rank (see :func:`~greenops_tb.distributed.ranks.rank_gpu`), all
        of them on the host's lowest rank and none on the others."""
        me = self.host_ids[self.info.rank]
        host_ranks = [r for r, h in enumerate(self.host_ids) if h == me]
        if self.info.local_world_size == len(host_ranks) and 0 <= self.info.local_rank < len(host_ranks):
            local_index = self.info.local_rank  # the launcher's numbering, which device placement follows
        else:
            local_index = host_ranks.index(self.info.rank)
        index = rank_gpu(local_index, len(host_ranks), *cuda_state())
        if index is not None:
            return [index]
        return None if self.measures_host else "none"

    def select_sources(self, sources: Sequence[EnergySource]) -> list[EnergySource]:
        """The sources this rank measures; the others are closed."""
        kept: list[EnergySource] = []
        for src in sources:
            if self.measures_host or not host_level(src):
                kept.append(src)
                continue
            try:
                src.close()
            except Exception:  # noqa: BLE001
                log.debug("closing %s failed", type(src).__name__, exc_info=True)
        return kept

    def start(self, devices: Sequence[Device], provenance: Sequence[str]) -> None:
        """Exchange every rank's device list once (a collective)."""
        mine = RankLayout(self.info.rank, self.info.host, tuple(devices), tuple(provenance))
        gathered: list[Any] = [None] * self.info.world_size
        self._collective(lambda: self._dist.all_gather_object(gathered, mine, group=self._group), "start-up")
        self._layouts = list(gathered)
        self._local_prov = mine.provenance
        self._known_versions = [0] * self.info.world_size
        pos = 0
        for lay in self._layouts:
            self._slices.append(slice(pos, pos + len(lay.devices)))
            pos += len(lay.devices)
        self._job = [0.0] * pos
        self._ctx_keys = [()] * self.info.world_size
        self.contexts = [[{} for _ in lay.devices] for lay in self._layouts]
        self._means = ctx.Means(self.info.world_size)
        self._alloc_buffers(self._width())

    def _width(self) -> int:
        return _HEADER + max(len(lay.devices) + len(k) for lay, k in zip(self._layouts, self._ctx_keys))

    def _alloc_buffers(self, width: int) -> None:
        """Reused exchange buffers: one row out, one row per rank in (CPU float64, numpy views)."""
        import torch

        self._row = torch.zeros(width, dtype=torch.float64)
        self._row_np = self._row.numpy()
        gathered = torch.zeros((self.info.world_size, width), dtype=torch.float64)
        self._out = list(gathered.unbind(0))  # contiguous row views: all_gather fills ``gathered`` in place
        self._table = gathered.numpy()

    def devices(self) -> tuple[Device, ...]:
        """Every device of the job, with ids ``r<rank>/<id>`` (aligned with :attr:`job_joules`)."""
        return tuple(
            Device(prefix_device_id(lay.rank, d.id), d.kind, d.name) for lay in self._layouts for d in lay.devices
        )

    def provenance(self) -> tuple[str, ...]:
        """Label per job device (aligned with :meth:`devices`)."""
        out: list[str] = []
        for lay in self._layouts:
            if self._broken is None:
                out.extend(lay.provenance)
            elif lay.rank == self.info.rank:
                out.extend(p + LOCAL_ONLY for p in self._local_prov)
            else:
                out.extend(p + FROZEN for p in lay.provenance)
        return tuple(out)

    def metadata_extra(self) -> dict[str, Any]:
        """World size, ranks and hosts for ``RunMetadata.extra``."""
        hosts, host_ids = ranks_by(self.hosts), ranks_by(self.host_ids)
        return {
            "job": job_identity(),
            "host_ids": host_ids,
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

    # -- per boundary ------------------------------------------------------------
    def boundary(
        self, kind: str | None, stage: str, joules: Sequence[float], provenance: Sequence[str],
        context: Sequence[Mapping[str, float]] | None = None, clock: float | None = None,
    ) -> list[float]:
        """Note one stage boundary of this rank; exchange if due. Returns the job's cumulative joules.

        This rank's own values are always current; the other ranks' are as of the last exchange.
        ``kind=None``: not a stage boundary (e.g. a model hook's reading): no exchange, not counted.
        """
        if kind is not None and kind not in BOUNDARY_KINDS:
            raise UsageError(f"boundary kind must be one of {BOUNDARY_KINDS} or None, got {kind!r}")
        with self._lock:
            prov = tuple(provenance)
            keys = ctx.keys_of(context)
            if prov != self._local_prov or keys != self._local_keys:
                self._local_prov, self._local_keys = prov, keys
                self._prov_version += 1
            self._local_ctx, self._clock = context, time.perf_counter() if clock is None else clock
            self._job[self._slices[self.info.rank]] = [float(j) for j in joules]
            if self._broken is not None or kind is None:
                return list(self._job)
            self._count += 1
            self._chain = zlib.crc32(f"{kind}:{stage};".encode("utf-8"), self._chain)
            self._since.append((self._count, kind, stage))
            if kind == "update":
                self._updates += 1
                if self._updates % self.flush_every:
                    return list(self._job)
            self._exchange(kind, stage)
            return list(self._job)

    def close(self) -> None:
        """Release the extra process group (no collective; safe after a failure)."""
        group, self._group = self._group, None
        if group is not None and self._broken is None and self._dist.is_initialized():
            try:
                self._dist.destroy_process_group(group)
            except Exception:  # noqa: BLE001 - releasing is best effort
                log.debug("destroying the aggregation group failed", exc_info=True)

    # -- internals -----------------------------------------------------------------
    def _collective(self, fn: Any, what: str) -> bool:
        """Run one collective; False (one warning, rank-local from now on) when the process group is gone."""
        if self._group is None or not self._dist.is_initialized():
            self._broken = RankTimeoutError(
                f"greenops_tb rank {self.info.rank}: the process group is gone at {what}; close the writer "
                f"before torch.distributed.destroy_process_group(). Measuring this rank only from now on"
            )
            self._since = []
            warnings.warn(str(self._broken), RuntimeWarning, stacklevel=6)
            return False
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - any transport failure becomes one clear error
            self._fail(RankTimeoutError(
                f"greenops_tb rank {self.info.rank}: no answer from every rank at {what} after "
                f"{time.perf_counter() - t0:.1f}s (timeout {self.timeout_s:g}s): a rank died, is stuck, or did not "
                f"reach this stage boundary. Every rank must open and close the same stages in the same order. "
                f"Measuring this rank only from now on. ({type(err).__name__}: {_first_line(err)})"
            ))
        self.exchanges += 1
        return True

    def _fail(self, err: DistributedError) -> None:
        self._broken = err
        self._since = []
        raise err

    def _exchange(self, kind: str, stage: str) -> None:
        what = f"{kind}({stage!r}) (boundary #{self._count})"
        own = self._job[self._slices[self.info.rank]]
        row = self._row_np
        row[:_HEADER] = (self._chain, self._count, self._prov_version, len(own), self._clock)
        row[_HEADER:_HEADER + len(own)] = own
        mine = ctx.pack(self._local_ctx, self._ctx_keys[self.info.rank])
        row[_HEADER + len(own):_HEADER + len(own) + len(mine)] = mine
        if not self._collective(lambda: self._dist.all_gather(self._out, self._row, group=self._group), what):
            return
        table = self._table  # [rank, column], views of the gathered buffers
        if (table[:, :2] != table[0:1, :2]).any():
            self._order_error(what)
        for lay, sl, keys in zip(self._layouts, self._slices, self._ctx_keys):
            if lay.rank != self.info.rank:
                n = len(lay.devices)
                self._job[sl] = table[lay.rank, _HEADER:_HEADER + n].tolist()
                raw = ctx.unpack(table[lay.rank, _HEADER + n:_HEADER + n + len(keys)], keys, n)
                self.contexts[lay.rank] = self._means.update(lay.rank, float(table[lay.rank, 4]), raw)
        versions = [int(v) for v in table[:, 2]]
        if versions != self._known_versions:
            self._refresh_provenance(versions, what)
        self._since = []

    def _refresh_provenance(self, versions: list[int], what: str) -> None:
        got: list[Any] = [None] * self.info.world_size
        mine = (self._local_prov, self._local_keys)
        self._collective(lambda: self._dist.all_gather_object(got, mine, group=self._group), what)
        self._layouts = [RankLayout(lay.rank, lay.host, lay.devices, tuple(p)) for lay, (p, _) in zip(self._layouts, got)]
        self._ctx_keys = [tuple(tuple(k) for k in keys) for _, keys in got]
        self._known_versions = versions
        if self._width() > len(self._row_np):
            self._alloc_buffers(self._width())

    def _order_error(self, what: str) -> None:
        seen: list[Any] = [None] * self.info.world_size
        self._collective(lambda: self._dist.all_gather_object(seen, self._since, group=self._group), what)
        lines = "; ".join(
            f"rank {r}: " + ("..., " if len(b) > 8 else "") + ", ".join(f"#{n} {k}({st!r})" for n, k, st in b[-8:])
            for r, b in enumerate(seen)
        )
        self._fail(StageOrderError(
            f"greenops_tb: ranks passed different stage boundaries since the last exchange ({lines}). Every rank "
            f"must open and close the same stages in the same order (and call update() as often). "
            f"Measuring each rank on its own from now on"
        ))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""
