"""Per-rank and per-host energy of a job record, from its ``r<rank>/<device>`` device ids.

Readers (plugin, export) call these with a record's ``devices`` and the run's
``RunMetadata.extra`` (which maps ranks to hosts), so the breakdown is derived
from the one record schema and never stored twice.
"""
from __future__ import annotations

from typing import Any, Mapping

from greenops_tb.distributed.ranks import split_device_id
from greenops_tb.format.schema import DeviceEnergy


def energy_by_rank(devices: Mapping[str, DeviceEnergy]) -> dict[int, float]:
    """Rank -> kWh. Unprefixed (single-process) devices count as rank 0."""
    out: dict[int, float] = {}
    for device_id, dev in devices.items():
        rank, _ = split_device_id(device_id)
        key = 0 if rank is None else rank
        out[key] = out.get(key, 0.0) + dev.energy_kwh
    return dict(sorted(out.items()))


def rank_hosts(extra: Mapping[str, Any]) -> dict[int, str]:
    """Rank -> host from ``RunMetadata.extra`` (written by the distributed writer); {} otherwise."""
    return {int(r["rank"]): str(r["host"]) for r in extra.get("ranks", ())}


def energy_by_host(devices: Mapping[str, DeviceEnergy], extra: Mapping[str, Any]) -> dict[str, float]:
    """Host -> kWh; ranks missing from ``extra`` are grouped under ``"rank <n>"``."""
    hosts = rank_hosts(extra)
    out: dict[str, float] = {}
    for rank, kwh in energy_by_rank(devices).items():
        host = hosts.get(rank, f"rank {rank}")
        out[host] = out.get(host, 0.0) + kwh
    return out
