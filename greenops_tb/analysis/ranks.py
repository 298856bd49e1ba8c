"""A distributed job's per-rank and per-host view (the summary's ``job``), from its merged run.

Jobs written as rank shards (:mod:`greenops_tb.readers.shards`) give each rank's own energy, CO2e and
time, and how far its latest record is behind the job's latest (``behind_s``: a straggler, or a rank
that stopped). Jobs written by the old rank-0 aggregation give per-rank energy from the device split
(``r<rank>/...`` ids) only. Per-host energy sums the host's ranks (the rank that measured the host's
host-level sources carries them).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from greenops_tb.analysis.contract import HostSummary, JobSummary, RankSummary
from greenops_tb.distributed.breakdown import rank_hosts
from greenops_tb.distributed.ranks import split_device_id
from greenops_tb.readers.events import RunData


def job_summary(data: RunData, devices: Sequence[Mapping[str, Any]]) -> JobSummary | None:
    """Ranks and hosts of a distributed job; None for a single process."""
    extra = data.metadata.extra if data.metadata is not None else {}
    if data.ranks:
        latest = max(r.last_end_time for r in data.ranks)
        ranks: list[RankSummary] = [
            {"rank": r.rank, "host": r.host, "energy_kwh": r.energy_kwh, "co2_kg": r.co2_kg,
             "duration_s": r.duration_s, "records": r.records, "behind_s": latest - r.last_end_time,
             "stage_duration_s": dict(r.stage_duration_s)}
            for r in data.ranks
        ]
    else:
        ranks = _from_devices(devices, rank_hosts(extra))
        if not ranks:
            return None
    world = max(int(extra.get("world_size", 0)), max(r["rank"] for r in ranks) + 1)
    seen = {r["rank"] for r in ranks}
    return {"world_size": world, "layout": str(extra.get("layout", "rank-0 aggregation")),
            "missing_ranks": [r for r in range(world) if r not in seen], "ranks": ranks, "hosts": _hosts(ranks)}


def _from_devices(devices: Sequence[Mapping[str, Any]], hosts: Mapping[int, str]) -> list[RankSummary]:
    energy: dict[int, list[float]] = {}
    for d in devices:
        rank, _ = split_device_id(d["device"])
        if rank is not None:
            energy.setdefault(rank, []).append(d["energy_kwh"])
    return [{"rank": r, "host": hosts.get(r, ""), "energy_kwh": math.fsum(e), "co2_kg": None, "duration_s": None,
             "records": None, "behind_s": None, "stage_duration_s": {}} for r, e in sorted(energy.items())]


def _hosts(ranks: Sequence[RankSummary]) -> list[HostSummary]:
    by_host: dict[str, list[RankSummary]] = {}
    for r in ranks:
        by_host.setdefault(r["host"] or f"rank {r['rank']}", []).append(r)
    return [{"host": h, "ranks": [r["rank"] for r in rs], "energy_kwh": math.fsum(r["energy_kwh"] for r in rs)}
            for h, rs in by_host.items()]
