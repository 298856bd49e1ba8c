"""Devices with a known constant power: cumulative J = P x elapsed monotonic time.

Exact arithmetic with no hardware, for tests, benchmarks and machines whose
draw is known from elsewhere (e.g. a wall-plug reading)::

    ConstantPowerSource({"gpu:0": 300.0, "cpu:0": 65.0})

The device kind is the id before ``:`` ("gpu:0" -> "gpu"; "ram" -> "ram").
"""
from __future__ import annotations

import time
from typing import Mapping, Sequence

from greenops_tb.errors import UsageError
from greenops_tb.format.schema import DEVICE_KINDS
from greenops_tb.meters.base import Device, EnergySource


class ConstantPowerSource(EnergySource):
    """Each device draws a fixed power (W) from construction on."""

    fixed_provenance = True

    def __init__(
        self,
        watts: Mapping[str, float],
        *,
        label: str = "constant",
        names: Mapping[str, str] | None = None,
        scope: str | None = None,
    ):
        if not watts:
            raise UsageError("ConstantPowerSource needs at least one device, e.g. {'cpu:0': 65.0}")
        devices = []
        for dev_id, w in watts.items():
            kind = dev_id.split(":", 1)[0]
            if kind not in DEVICE_KINDS:
                raise UsageError(f"device id {dev_id!r} must start with one of {DEVICE_KINDS} (e.g. 'gpu:0', 'ram')")
            if not (isinstance(w, (int, float)) and w >= 0):
                raise UsageError(f"power of {dev_id!r} must be a number of watts >= 0, got {w!r}")
            devices.append(Device(dev_id, kind, (names or {}).get(dev_id, f"constant {float(w):g} W")))
        self.devices = tuple(devices)
        self.watts: tuple[float, ...] = tuple(float(w) for w in watts.values())
        self._label = label
        self.scope = scope  # see EnergySource.scope
        self._t0 = time.perf_counter()

    def read(self) -> Sequence[float]:
        return self.read_at(time.perf_counter())

    def read_at(self, t_mono: float) -> Sequence[float]:
        dt = max(0.0, t_mono - self._t0)
        return [w * dt for w in self.watts]

    def provenance(self) -> Sequence[str]:
        return [self._label] * len(self.devices)
