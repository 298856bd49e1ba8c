"""Apple silicon (M1-M4) energy through ``zeus-apple-silicon`` (the optional extra ``greenops_tb[apple]``).

Why this binding: ``zeus-apple-silicon`` (ML.ENERGY, Apache-2.0, on PyPI for
macOS arm64) reads the SoC's IOReport energy counters without sudo and
returns cumulative millijoules per subsystem; ``macmon`` is a command-line
tool with no Python package on PyPI (``macmon-lib`` does not exist there), and
``powermetrics`` needs root. One source reads
``AppleEnergyMonitor().get_cumulative_energy()`` at every stage boundary
(counters, no sampling) and reports, where the chip gives them:

* ``cpu:0``: ``cpu_total_mj`` (every core cluster and its managers);
* ``gpu:0``: ``gpu_mj`` + ``gpu_sram_mj``;
* ``gpu:ane`` (kind ``gpu``, the accelerator column): ``ane_mj``, the Neural Engine;
* ``ram``: ``dram_mj``. Memory is unified: it is counted once, here, and no
  RAM model is added on top.

All labelled ``apple-ioreport``; the SoC is shared by every process, so the
source is host-level. A failure mid-run continues each device at the average
power it drew so far (``model-soc-avg``). The binding is imported in exactly
one place, :func:`_load_binding`.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Sequence

from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.constant import ConstantPowerSource

log = logging.getLogger(__name__)

LABEL = "apple-ioreport"
#: device -> (kind, name, the metrics fields summed)
PARTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cpu:0": ("cpu", "Apple silicon CPU clusters", ("cpu_total_mj",)),
    "gpu:0": ("gpu", "Apple silicon GPU", ("gpu_mj", "gpu_sram_mj")),
    "gpu:ane": ("gpu", "Apple Neural Engine", ("ane_mj",)),
    "ram": ("ram", "unified memory (DRAM)", ("dram_mj",)),
}


def _load_binding() -> Any | None:
    """The zeus_apple_silicon module (or the stand-in in ``sys.modules``), None when not installed."""
    try:
        import zeus_apple_silicon
    except ImportError:
        return None
    return zeus_apple_silicon


def _mj(metrics: Any, fields: Sequence[str]) -> int | None:
    values = [getattr(metrics, f, None) for f in fields]
    present = [int(v) for v in values if v is not None]
    return sum(present) if present else None


class AppleSiliconSource(EnergySource):
    """CPU, GPU, ANE and DRAM energy of the SoC from its cumulative IOReport counters."""

    fixed_provenance = True

    scope = "host"

    def __init__(self, monitor: Any) -> None:
        self._monitor = monitor
        first = monitor.get_cumulative_energy()
        self._parts = [(dev, PARTS[dev][2]) for dev in PARTS if _mj(first, PARTS[dev][2]) is not None]
        if not self._parts:
            raise RuntimeError("the Apple energy monitor reports no subsystem")
        self.devices = tuple(Device(dev, PARTS[dev][0], PARTS[dev][1]) for dev, _ in self._parts)
        self._mj0 = [_mj(first, fields) or 0 for _, fields in self._parts]
        self._lock = threading.Lock()
        self._t0 = self._last_t = time.perf_counter()
        self._last = [0.0] * len(self._parts)

    def read(self) -> Sequence[float]:
        with self._lock:
            m = self._monitor.get_cumulative_energy()
            now = [(_mj(m, fields) or 0) - base for (_, fields), base in zip(self._parts, self._mj0)]
            self._last = [max(prev, mj / 1000.0) for prev, mj in zip(self._last, now)]
            self._last_t = time.perf_counter()
            return list(self._last)

    def provenance(self) -> Sequence[str]:
        return [LABEL] * len(self.devices)

    def fallback(self, error: BaseException) -> EnergySource | None:
        seconds = self._last_t - self._t0
        if seconds < 1.0:
            return None
        watts = {d.id: j / seconds for d, j in zip(self.devices, self._last)}
        return ConstantPowerSource(watts, label="model-soc-avg", names={d.id: d.name for d in self.devices},
                                   scope="host")


def apple_sources() -> list[EnergySource]:
    """The SoC's source on Apple silicon with the binding installed, else nothing."""
    lib = _load_binding()
    if lib is None:
        log.debug("zeus-apple-silicon is not installed (pip install greenops_tb[apple] on macOS): no IOReport")
        return []
    try:
        return [AppleSiliconSource(lib.AppleEnergyMonitor())]
    except Exception as err:  # noqa: BLE001 - not Apple silicon, or IOReport refused
        log.debug("Apple energy monitor unavailable: %s", err)
        return []
