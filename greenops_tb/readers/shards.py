"""A distributed job's rank shards merged into ONE run, at read time (see ``docs/distributed.md``).

Each rank writes its own records (its devices, its stages, its running totals). :func:`merge_shards`
interleaves them by end time (each rank's own order kept) into one record stream that every reader
and analysis already understands:

* device ids get the rank's prefix (``r<rank>/gpu:0``), so per-rank and per-host energy come from
  :mod:`greenops_tb.distributed.breakdown`, as for jobs written by the old rank-0 aggregation;
* the running totals of each merged record are the job's: for every stage and for the run, the sum
  over ranks of each rank's latest running total (energy, CO2e, cost, work units, footprint, source
  mix), summed exactly (:class:`ExactSums`: the correctly rounded sum, equal to ``math.fsum``), and
  the longest rank's running duration (ranks run side by side);
* ``seq`` numbers the merged stream; the last merged record carries the job's per-device split.

Ranks may run different stages (pipeline parallel); a rank that died simply ends early; each rank's
own time is in :class:`RankTotals` (stragglers show there, nobody waited for them).
"""
from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterator, Mapping

from greenops_tb.distributed.ranks import prefix_device_id
from greenops_tb.format.schema import Record, RunMetadata

#: running totals summed over ranks, per stage (``stage_*``) and for the run (``run_*``)
SUMMED = ("energy_kwh", "co2_kg", "cost", "embodied_kg", "water_onsite_l", "water_offsite_l")
COUNTED = ("stage_samples", "stage_tokens")
_BITS = 1074  # 2**-1074 is the smallest float: every float is an integer multiple of it


class ExactSums:
    """Per key, the sum over ranks of each rank's latest value, exactly (then rounded once).

    Values are held as integer multiples of 2**-1074, so replacing a rank's value is exact and the
    sum is correctly rounded (Python's int division), whatever the order and number of ranks.
    None is "unknown": a key whose ranks are all unknown reads as None.
    """

    __slots__ = ("_total", "_known", "_last")

    def __init__(self) -> None:
        self._total: dict[Hashable, int] = {}
        self._known: dict[Hashable, int] = {}
        self._last: dict[tuple[Hashable, int], int | None] = {}

    def set(self, key: Hashable, rank: int, value: float | None) -> None:
        new = None if value is None else _fixed(value)
        old = self._last.get((key, rank))
        if old == new and (key, rank) in self._last:
            return
        self._last[(key, rank)] = new
        self._total[key] = self._total.get(key, 0) + (new or 0) - (old or 0)
        self._known[key] = self._known.get(key, 0) + (new is not None) - (old is not None)

    def get(self, key: Hashable) -> float | None:
        if not self._known.get(key):
            return None
        return self._total[key] / (1 << _BITS)


def _fixed(x: float) -> int:
    n, d = float(x).as_integer_ratio()  # d is a power of two, at most 2**1074
    return n << (_BITS + 1 - d.bit_length())


@dataclass(frozen=True, slots=True)
class RankTotals:
    """One rank's own totals in a merged job (from its latest record and its shard's metadata)."""

    rank: int
    host: str  # "" when unknown (CSV shards carry no metadata)
    host_id: str
    records: int
    energy_kwh: float
    co2_kg: float
    duration_s: float  # the rank's own run time so far: a straggler's is longer
    last_end_time: float  # wall time of its latest record: far behind the others' = stuck or gone
    stage_duration_s: dict[str, float] = field(default_factory=dict)


def merge_shards(shards: Mapping[int, list[Record]], metadata: Mapping[int, RunMetadata | None] | None = None
                 ) -> tuple[list[Record], RunMetadata | None, tuple[RankTotals, ...]]:
    """(the job's merged records, its merged metadata, each rank's totals) from each rank's records in seq order."""
    metadata = metadata or {}
    return list(_merged(shards)), merge_metadata(metadata, shards), _rank_totals(shards, metadata)


def _interleaved(shards: Mapping[int, list[Record]]) -> Iterator[tuple[int, Record]]:
    """(rank, record) of every shard by end time; each rank's records stay in their own order."""
    lists = [[(r.end_time, rank, r) for r in recs] for rank, recs in sorted(shards.items())]
    for _end, rank, rec in heapq.merge(*lists, key=lambda t: (t[0], t[1])):
        yield rank, rec


def _merged(shards: Mapping[int, list[Record]]) -> Iterator[Record]:
    sums = ExactSums()
    longest: dict[Hashable, float] = {}
    mix_sources: dict[Hashable, dict[str, None]] = {}  # per stage / run, the sources any rank's mix named
    devices_kwh: dict[str, float] = {}
    total = sum(len(v) for v in shards.values())
    for seq, (rank, rec) in enumerate(_interleaved(shards)):
        p = f"r{rank}/"
        own = {p + k: v for k, v in rec.run_devices_kwh.items()}
        devices_kwh.update(own)
        changes: dict[str, Any] = {
            "seq": seq,
            "devices": {p + k: v for k, v in rec.devices.items()},
            "embodied_kg_by_device": {p + k: v for k, v in rec.embodied_kg_by_device.items()},
            # the job's per-device split on the last record (readers take it from there), this rank's before
            "run_devices_kwh": dict(devices_kwh) if seq == total - 1 else own,
        }
        for scope, key in (("stage", rec.stage), ("run", "")):
            for name in SUMMED:
                attr = f"{scope}_{name}"
                sums.set((attr, key), rank, getattr(rec, attr))
                changes[attr] = sums.get((attr, key))
            mix_attr = f"{scope}_mix_kwh"
            mix = getattr(rec, mix_attr)
            known = mix_sources.setdefault((mix_attr, key), {})
            for src, kwh in mix.items():
                known[src] = None
                sums.set((mix_attr, key, src), rank, kwh)
            changes[mix_attr] = {src: sums.get((mix_attr, key, src)) or 0.0 for src in known} if mix else {}
            dur = f"{scope}_duration_s"
            longest[(dur, key)] = changes[dur] = max(longest.get((dur, key), 0.0), getattr(rec, dur))
        for attr in COUNTED:
            sums.set((attr, rec.stage), rank, getattr(rec, attr))
            changes[attr] = int(sums.get((attr, rec.stage)) or 0)
        yield dataclasses.replace(rec, **changes)


def _rank_totals(shards: Mapping[int, list[Record]], metadata: Mapping[int, RunMetadata | None]
                 ) -> tuple[RankTotals, ...]:
    out = []
    for rank, recs in sorted(shards.items()):
        if not recs:
            continue
        shard = _shard_info(metadata.get(rank))
        stages: dict[str, float] = {}
        for r in recs:
            stages[r.stage] = r.stage_duration_s
        last = recs[-1]
        out.append(RankTotals(rank, str(shard.get("host", "")), str(shard.get("host_id", "")), len(recs),
                              last.run_energy_kwh, last.run_co2_kg, last.run_duration_s, last.end_time, stages))
    return tuple(out)


def _shard_info(meta: RunMetadata | None) -> dict[str, Any]:
    shard = meta.extra.get("shard") if meta is not None else None
    return shard if isinstance(shard, dict) else {}


def merge_metadata(metadata: Mapping[int, RunMetadata | None], shards: Mapping[int, list[Record]] | None = None
                   ) -> RunMetadata | None:
    """The job's metadata: the lowest rank's, with every rank's devices and embodied parts (``r<rank>/...``),
    ranks and hosts."""
    known = {r: m for r, m in sorted(metadata.items()) if m is not None}
    if not known:
        return None
    base = next(iter(known.values()))
    devices: dict[str, dict[str, str]] = {}
    ranks: list[dict[str, Any]] = []
    hosts: dict[str, list[int]] = {}
    host_ids: dict[str, list[int]] = {}
    world = 0
    for rank, meta in known.items():
        shard = _shard_info(meta)
        world = max(world, int(shard.get("world_size", 0)))
        ids = [prefix_device_id(rank, d) for d in meta.devices]
        devices.update(zip(ids, meta.devices.values()))
        host, host_id = str(shard.get("host", meta.host)), str(shard.get("host_id", ""))
        ranks.append({"rank": rank, "host": host, "host_id": host_id, "devices": ids})
        hosts.setdefault(host, []).append(rank)
        host_ids.setdefault(host_id, []).append(rank)
    missing = sorted(set(shards or ()) - set(known))
    footprint = dict(base.footprint or {})
    if "embodied" in footprint:  # every rank's hardware, as ``r<rank>/<part>``
        parts = {f"r{rank}/{k}": p for rank, m in known.items()
                 for k, p in ((m.footprint or {}).get("embodied") or {}).get("parts", {}).items()}
        footprint["embodied"] = {**footprint["embodied"], "parts": parts}
    extra = {k: v for k, v in base.extra.items() if k != "shard"}
    extra.update(layout="rank-shards", world_size=max(world, len(known)), ranks=ranks, hosts=hosts,
                 host_ids=host_ids, ranks_without_metadata=missing)
    return dataclasses.replace(base, devices=devices, extra=extra, footprint=footprint,
                               started_at=min(m.started_at for m in known.values()))
