"""Model energy sources that work on any machine (labelled ``model-*``).

* CPU (:class:`ModelCpuSource`): TDP x this process's CPU utilisation, i.e.
  cumulative J = TDP / logical CPUs x CPU seconds of this process (all its
  threads, from ``time.process_time``; child processes such as DataLoader
  workers are not included: they are separate processes with their own
  clock). Exact and readable at any boundary, no sampling. TDP from
  :mod:`greenops_tb.meters.cpu_info`.
* RAM (:class:`ModelRamSource`): :data:`RAM_W_PER_GB` x resident memory (RSS)
  of this process, sampled by the shared sampler and integrated.
"""
from __future__ import annotations

import time
from typing import Sequence

from greenops_tb.errors import UsageError
from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.cpu_info import CpuTdp, logical_cpus, resolve_cpu_tdp
from greenops_tb.meters.integrate import PowerIntegrator
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S

#: W per GB of resident memory: 0.375 W/GB, the figure used by Green Algorithms
#: (Lannelongue et al. 2021, Adv. Sci. 8:2100707) and CodeCarbon for DRAM.
RAM_W_PER_GB = 0.375
_GB = 1e9


class ModelCpuSource(EnergySource):
    """CPU energy modelled as TDP x this process's share of all logical CPUs."""

    fixed_provenance = True

    scope = "process"

    def __init__(self, tdp: CpuTdp | None = None, *, cpus: int | None = None) -> None:
        self.tdp = tdp or resolve_cpu_tdp()
        self.cpus = cpus or logical_cpus()
        self._w_per_cpu_s = self.tdp.tdp_w / self.cpus
        self._label = "model-tdp" if not self.tdp.source.startswith("default") else "model-tdp-default"
        self.devices = (Device("cpu:0", "cpu", self.tdp.model or "unknown CPU"),)
        self._c0 = time.process_time()

    def read(self) -> Sequence[float]:
        return self.read_at(time.perf_counter())

    def read_at(self, t_mono: float) -> Sequence[float]:
        return [(time.process_time() - self._c0) * self._w_per_cpu_s]  # CPU time so far: read now, one call

    def provenance(self) -> Sequence[str]:
        return [self._label]


class ModelRamSource(EnergySource):
    """RAM energy modelled as W/GB x this process's resident set size, integrated over time."""

    fixed_provenance = True

    scope = "process"

    def __init__(self, w_per_gb: float = RAM_W_PER_GB, sample_interval: float = DEFAULT_INTERVAL_S) -> None:
        import psutil

        if not w_per_gb >= 0:
            raise UsageError(f"ram_w_per_gb must be >= 0, got {w_per_gb!r}")
        self._proc = psutil.Process()
        self._w_per_byte = w_per_gb / _GB
        self.sample_interval = sample_interval
        self._integ = PowerIntegrator(1)
        self.devices = (Device("ram", "ram", "RAM"),)  # the hardware; the formula is the provenance's (model-rss)

    def sample(self) -> None:
        self._integ.add(time.perf_counter(), [self._proc.memory_info().rss * self._w_per_byte])

    def read(self) -> Sequence[float]:
        return self._integ.joules()

    def read_at(self, t_mono: float) -> Sequence[float]:
        return self._integ.joules(t_mono)

    def provenance(self) -> Sequence[str]:
        return ["model-rss"]
