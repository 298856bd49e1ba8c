"""The default energy sources of a writer: measured where possible, modelled otherwise.

* GPUs: NVML (:mod:`greenops_tb.meters.nvml`) and AMD SMI
  (:mod:`greenops_tb.meters.amd`), one source per GPU the process uses (none
  when the library or GPUs are missing). NVIDIA and AMD GPUs get distinct ids
  (NVIDIA first) when both are present.
* CPU and RAM: RAPL (``cpu:0`` = all packages, ``ram`` = all DRAM zones) where
  the powercap counters exist and are readable; else hwmon sensors
  (:mod:`greenops_tb.meters.hwmon`: ``amd_energy``, Grace, Jetson rails, PSUs)
  where they cover the kind; else the model sources, labelled
  ``(rapl unreadable)`` with one warning when the counters exist but are
  root-only (see :mod:`greenops_tb.meters.rapl`).
* hwmon GPU sensors (e.g. a Jetson's GPU rail) only when no vendor library
  measures a GPU; a container sensor (module, PSU) only when nothing it
  contains is measured otherwise.

* Apple silicon (:mod:`greenops_tb.meters.apple`): the SoC's IOReport counters
  cover CPU, GPU, Neural Engine and unified memory; nothing else is added.

RAPL measures whole sockets (every process on them), the CPU model only this
process's share; the provenance label says which one a record used.
"""
from __future__ import annotations

import os
from typing import Callable

from greenops_tb.errors import UsageError
from greenops_tb.meters.amd import amd_sources
from greenops_tb.meters.apple import apple_sources
from greenops_tb.meters.base import EnergySource
from greenops_tb.meters.cpu_info import cpu_model
from greenops_tb.meters.cpu_share import CPU_ATTRIBUTIONS, attribute_cpu
from greenops_tb.meters.gpu_share import GPU_ATTRIBUTIONS, attribute_gpus
from greenops_tb.meters.hwmon import hwmon_root as default_hwmon_root
from greenops_tb.meters.hwmon import hwmon_sources
from greenops_tb.meters.model import ModelCpuSource, ModelRamSource
from greenops_tb.meters.nvml import nvml_sources
from greenops_tb.meters.rapl import discover, rapl_sources
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S
from greenops_tb.meters.visible_devices import GpusOption, parse_gpus


def gpu_sources(gpus: GpusOption = None, *, sample_interval: float = DEFAULT_INTERVAL_S) -> list[EnergySource]:
    """Every vendor library's GPU sources for the GPUs this process uses."""
    nvidia = nvml_sources(gpus, interval=sample_interval)
    # a machine with both (rare): CUDA and HIP number their own GPUs, so AMD ids follow NVIDIA's
    return [*nvidia, *amd_sources(gpus, interval=sample_interval, first_id=len(nvidia))]


def rapl_kinds(powercap: str | os.PathLike[str] | None = None) -> set[str]:
    """The kinds ("cpu", "ram") whose RAPL zones all exist and are readable."""
    zones = [z for z in discover(powercap) if z.kind]
    return {z.kind for z in zones if z.kind} - {z.kind for z in zones if z.readable is not None}


def default_sources(
    *,
    gpus: GpusOption = None,
    powercap_root: str | os.PathLike[str] | None = None,
    hwmon_root: str | os.PathLike[str] | None = None,
    sample_interval: float = DEFAULT_INTERVAL_S,
    cpu_attribution: str = "socket",
    gpu_attribution: str = "device",
    sysfs_root: str | os.PathLike[str] | None = None,
) -> list[EnergySource]:
    """Sources for this machine: vendor GPUs, then RAPL CPU/RAM, hwmon, and the models as fallback.

    ``gpus``: which visible GPUs to measure (None/"all", "none"/[], indices or UUIDs);
    ``powercap_root`` (old name ``sysfs_root``): the powercap directory (default /sys/class/powercap or
    ``$GREENOPS_POWERCAP_ROOT``; a sysfs root such as ``/sys`` is understood, :func:`~greenops_tb.meters.rapl.powercap_root`);
    ``hwmon_root``: the hwmon directory (default: :func:`greenops_tb.meters.hwmon.hwmon_root`, next to the powercap one);
    ``cpu_attribution``: "socket" (whole-socket RAPL/hwmon) or "process" (scaled by this process's
    share of CPU time, :mod:`~greenops_tb.meters.cpu_share`); ``gpu_attribution``: "device" or
    "process" (scaled by this process's share of GPU use, :mod:`~greenops_tb.meters.gpu_share`).
    """
    if sysfs_root is not None:
        if powercap_root is not None:
            raise UsageError("sysfs_root= is the old name of powercap_root=; pass only powercap_root=")
        powercap_root = sysfs_root
    if cpu_attribution not in CPU_ATTRIBUTIONS or gpu_attribution not in GPU_ATTRIBUTIONS:
        raise UsageError(f"cpu_attribution must be one of {CPU_ATTRIBUTIONS} and gpu_attribution one of "
                         f"{GPU_ATTRIBUTIONS}; got {cpu_attribution!r}, {gpu_attribution!r}")
    soc = apple_sources()
    if soc:
        return soc
    accel = attribute_gpus(gpu_sources(gpus, sample_interval=sample_interval), gpu_attribution)
    models: dict[str, Callable[[], EnergySource]] = {
        "cpu": ModelCpuSource, "ram": lambda: ModelRamSource(sample_interval=sample_interval),
    }
    # gpus="none" also keeps hwmon GPU sensors out: no GPU is wanted from this process
    measured = rapl_kinds(powercap_root) | ({"gpu"} if accel or parse_gpus(gpus) == [] else set())
    hw_root = os.fspath(hwmon_root) if hwmon_root is not None else default_hwmon_root(powercap_root)
    hw, covered = hwmon_sources(hw_root, measured=sorted(measured), fallbacks=models,
                                interval=sample_interval)
    by_kind = {s.devices[0].kind: s for s in hw if s.devices[0].kind != "gpu"}

    def first(kind: str) -> Callable[[], EnergySource] | None:
        if kind in by_kind:
            return lambda: by_kind[kind]
        if kind in covered:  # a container sensor recorded under another kind stands for this one
            return None
        return models[kind]

    host = rapl_sources(powercap_root, cpu_model=first("cpu"), ram_model=first("ram"), cpu_name=cpu_model())
    return [*accel, *(s for s in hw if s.devices[0].kind == "gpu"), *attribute_cpu(host, cpu_attribution)]
