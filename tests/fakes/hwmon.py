"""A hwmon sysfs tree written by the test, laid out as the kernel's ABI says.

``<root>/hwmonN/name`` plus channels ``energy<i>_input`` (uJ, cumulative,
advanced by a helper thread at the channel's known power) and
``power<i>_input`` or ``power<i>_average`` (uW, the channel's power now), with
``<channel>_label`` or, like NVIDIA Grace's ACPI power meter,
``device/power<i>_oem_info``. ``held()`` pauses the counters and says which
instant their values describe, so tests know the exact energy behind a read.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from fakes.powercap import WIDTH, Ticking


@dataclass
class Channel:
    family: str  # "energy" | "power"
    index: int
    label: str | None
    watts: float
    attr: str = "input"  # power: "input" or "average"
    oem_info: bool = False  # label in device/power<i>_oem_info (Grace) instead of <channel>_label
    start_uj: int = 0
    path: Path = field(init=False)


@dataclass
class Chip:
    name: str
    channels: list[Channel]


class FakeHwmon(Ticking):
    """Writes ``root/hwmon<N>`` per chip; ``start()`` advances energy counters, ``set_power()`` changes power."""

    def __init__(self, root: Path, chips: list[Chip], tick_s: float = 0.0005) -> None:
        super().__init__(tick_s)
        self.root = Path(root)
        self.chips = chips
        for n, chip in enumerate(chips):
            d = self.root / f"hwmon{n}"
            (d / "device").mkdir(parents=True, exist_ok=True)
            (d / "name").write_text(chip.name + "\n")
            for ch in chip.channels:
                stem = f"{ch.family}{ch.index}"
                ch.path = d / (f"{stem}_input" if ch.family == "energy" else f"{stem}_{ch.attr}")
                if ch.label is not None:
                    where = d / "device" / f"{stem}_oem_info" if ch.oem_info else d / f"{stem}_label"
                    where.write_text(ch.label + "\n")
                self._write(ch, 0.0)

    def channels(self) -> list[Channel]:
        return [ch for chip in self.chips for ch in chip.channels]

    def _write(self, ch: Channel, t: float) -> None:
        value = ch.start_uj + int(ch.watts * t * 1e6) if ch.family == "energy" else round(ch.watts * 1e6)
        with open(ch.path, "r+" if ch.path.exists() else "w") as f:
            f.write(f"{value:0{WIDTH}d}\n")

    def write_all(self) -> float:
        with self._lock:
            t = time.perf_counter()
            for ch in self.channels():
                if ch.family == "energy":
                    self._write(ch, t - self.t0)
            self.last_write = t
            return t

    def set_power(self, ch: Channel, watts: float) -> None:
        with self._lock:
            ch.watts = watts
            self._write(ch, 0.0)

    def reset_counter(self, ch: Channel) -> None:
        """The driver restarts an energy counter from 0 at the instant of the last write (e.g. module reload)."""
        with self._lock:
            ch.start_uj = -int(ch.watts * (self.last_write - self.t0) * 1e6)
            self._write(ch, self.last_write - self.t0)


def epyc_amd_energy(root: Path) -> FakeHwmon:
    """amd_energy on a 2-socket EPYC: two Esocket channels (100 W, 80 W) and per-core channels inside them."""
    cores = [Channel("energy", i + 1, f"Ecore{i:03d}", 6.0) for i in range(4)]
    sockets = [Channel("energy", 5, "Esocket0", 100.0), Channel("energy", 6, "Esocket1", 80.0)]
    return FakeHwmon(root, [Chip("amd_energy", cores + sockets)])


def grace_hopper(root: Path) -> FakeHwmon:
    """GH200's ACPI power meters: module (CPU+GPU+memory), Grace (CPU+SysIO), and the Grace rails."""
    chips = [
        Chip("power_meter", [Channel("power", 1, "Module Power Socket 0", 650.0, attr="average", oem_info=True)]),
        Chip("power_meter", [Channel("power", 1, "Grace Power Socket 0", 120.0, attr="average", oem_info=True)]),
        Chip("power_meter", [Channel("power", 1, "CPU Power Socket 0", 90.0, attr="average", oem_info=True)]),
        Chip("power_meter", [Channel("power", 1, "SysIO Power Socket 0", 25.0, attr="average", oem_info=True)]),
    ]
    return FakeHwmon(root, chips)


def jetson_nano(root: Path) -> FakeHwmon:
    """INA3221 on a Jetson Nano: board input (contains the others), GPU and CPU rails."""
    return FakeHwmon(root, [Chip("ina3221", [
        Channel("power", 1, "POM_5V_IN", 7.5), Channel("power", 2, "POM_5V_GPU", 3.0),
        Channel("power", 3, "POM_5V_CPU", 2.0),
    ])])
