"""The default energy sources of a writer: measured where possible, modelled otherwise.

* GPUs: NVML, one source per GPU the process uses (none when NVML or GPUs
  are missing; see :mod:`greenops_tb.meters.nvml`).
* CPU and RAM: RAPL (``cpu:0`` = all packages, ``ram`` = all DRAM zones) where
  the powercap counters exist and are readable; else the model sources, labelled
  ``(rapl unreadable)`` with one warning when the counters exist but are
  root-only (see :mod:`greenops_tb.meters.rapl`).

RAPL measures whole sockets (every process on them), the CPU model only this
process's share; the provenance label says which one a record used.
"""
from __future__ import annotations

from greenops_tb.meters.base import EnergySource
from greenops_tb.meters.cpu_info import cpu_model
from greenops_tb.meters.model import ModelCpuSource, ModelRamSource
from greenops_tb.meters.nvml import nvml_sources
from greenops_tb.meters.rapl import rapl_sources
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S
from greenops_tb.meters.visible_devices import GpusOption


def default_sources(
    *, gpus: GpusOption = None, sysfs_root: str | None = None, sample_interval: float = DEFAULT_INTERVAL_S
) -> list[EnergySource]:
    """Sources for this machine: NVML GPUs, then RAPL CPU/RAM with the models as fallback.

    ``gpus``: which visible GPUs to measure (None/"all", "none"/[], indices or UUIDs);
    ``sysfs_root``: the powercap directory (default /sys/class/powercap or ``$GREENOPS_POWERCAP_ROOT``).
    """
    return [
        *nvml_sources(gpus, interval=sample_interval),
        *rapl_sources(
            sysfs_root,
            cpu_model=ModelCpuSource,
            ram_model=lambda: ModelRamSource(sample_interval=sample_interval),
            cpu_name=cpu_model(),
        ),
    ]
