"""A stand-in for ``zeus_apple_silicon``: ``AppleEnergyMonitor().get_cumulative_energy()`` over a simulated SoC.

As the binding (and zeus' ``device/soc/apple.py``) defines it: an
``AppleEnergyMetrics`` whose fields are cumulative millijoules (int) since an
arbitrary point, or None where the chip has no such counter. Each subsystem
draws a constant power; ``fail_after_s`` makes every later read raise.
"""
from __future__ import annotations

import time
import types
from dataclasses import dataclass, field

FIELDS = ("cpu_total_mj", "efficiency_cores_mj", "performance_cores_mj", "efficiency_cluster_mj",
          "performance_cluster_mj", "efficiency_core_manager_mj", "performance_core_manager_mj", "dram_mj",
          "gpu_mj", "gpu_sram_mj", "ane_mj")


@dataclass
class FakeSoc:
    watts: dict[str, float] = field(default_factory=lambda: {
        "cpu_total_mj": 12.0, "dram_mj": 1.5, "gpu_mj": 18.0, "gpu_sram_mj": 0.5, "ane_mj": 2.0})
    start_mj: int = 7_000_000
    fail_after_s: float | None = None
    init_error: str | None = None
    reads: int = 0


def make_fake_apple(soc: FakeSoc) -> types.ModuleType:
    t0 = time.perf_counter()
    mod = types.ModuleType("zeus_apple_silicon")

    class AppleEnergyMetrics:
        def __init__(self, **values: int | None) -> None:
            for name in FIELDS:
                setattr(self, name, values.get(name))

    class AppleEnergyMonitor:
        def __init__(self) -> None:
            if soc.init_error:
                raise RuntimeError(soc.init_error)

        def get_cumulative_energy(self) -> AppleEnergyMetrics:
            t = time.perf_counter() - t0
            if soc.fail_after_s is not None and t >= soc.fail_after_s:
                raise RuntimeError("IOReport subscription lost")
            soc.reads += 1
            return AppleEnergyMetrics(**{k: soc.start_mj + int(w * t * 1000) for k, w in soc.watts.items()})

    mod.AppleEnergyMetrics = AppleEnergyMetrics
    mod.AppleEnergyMonitor = AppleEnergyMonitor
    mod.elapsed = lambda: time.perf_counter() - t0
    return mod
