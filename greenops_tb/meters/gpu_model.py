"""Fallback for a GPU whose NVML readings stopped working mid-run.

Once NVML fails nothing more can be read from the GPU (not even its
utilisation), so the best estimate is a constant power: the average the GPU
drew while it was still measured (label ``model-gpu-avg``), or, when nothing
was measured yet, its enforced power limit (``model-gpu-tdp``, an upper bound).
"""
from __future__ import annotations

import threading
import time
from typing import Sequence

from greenops_tb.meters.base import Device, EnergySource


class GpuModelSource(EnergySource):
    """Constant power times elapsed time for one GPU."""

    def __init__(self, device: Device, watts: float, label: str) -> None:
        if not watts >= 0:
            raise ValueError(f"GPU model power must be >= 0 W, got {watts!r}")
        self.devices = (device,)
        self.watts = float(watts)
        self._label = label
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()
        self._last = 0.0

    def read(self) -> Sequence[float]:
        with self._lock:
            self._last = max(self._last, self.watts * (time.perf_counter() - self._t0))
            return [self._last]

    def provenance(self) -> Sequence[str]:
        return [self._label]


def gpu_model_after(device: Device, joules: float, seconds: float, power_limit_w: float | None) -> EnergySource | None:
    """The model source replacing a failed NVML source that measured ``joules`` over ``seconds``."""
    if seconds >= 1.0 and joules > 0:
        return GpuModelSource(device, joules / seconds, "model-gpu-avg")
    if power_limit_w:
        return GpuModelSource(device, power_limit_w, "model-gpu-tdp")
    return None
