"""The default energy sources of a writer: measured where possible, modelled otherwise."""
from __future__ import annotations

from greenops_tb.meters.base import EnergySource
from greenops_tb.meters.model import ModelCpuSource, ModelRamSource
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S


def default_sources(
    *, gpus: list[int] | None = None, sysfs_root: str | None = None, sample_interval: float = DEFAULT_INTERVAL_S
) -> list[EnergySource]:
    """Sources for this machine: CPU and RAM models (hardware counters slot in here)."""
    return [ModelCpuSource(), ModelRamSource(sample_interval=sample_interval)]
