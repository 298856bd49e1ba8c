"""Power and energy sensors of Linux hwmon (``/sys/class/hwmon``).

The kernel's hwmon sysfs ABI (Documentation/hwmon/sysfs-interface): each chip
is a directory ``hwmonN`` with a ``name`` and channels

* ``energy<i>_input``: cumulative energy in microjoules (e.g. ``amd_energy``
  on EPYC: ``Esocket<n>`` per socket, ``Ecore<nnn>`` per core), read at stage
  boundaries (labelled ``hwmon-energy``);
* ``power<i>_input`` / ``power<i>_average``: power in microwatts (NVIDIA
  Grace's ACPI ``power_meter``, Jetson's ``ina3221`` rails, PSU/BMC drivers,
  ``amdgpu``), sampled by the shared sampler and integrated
  (``hwmon-power-sampled``);

with an optional ``<channel>_label`` (Grace names its channels in
``device/power<i>_oem_info``). :func:`classify` maps each channel to a role
from the chip name and label: ``cpu``/``gpu``/``ram`` (a whole device), a
``part`` of one (a core, Grace's CPU rail inside "Grace Power"), or a
container (``module``: Grace Hopper's module power, Jetson's CPU+GPU rail;
``system``: PSU, board input). :func:`plan` then counts nothing twice:

* per kind, the whole-device sensors; their parts only when no whole sensor
  exists (summing cores would miss the socket's uncore);
* a kind another source already measures (RAPL for the CPU, NVML/amdsmi for
  GPUs) is not counted from hwmon;
* a container only when none of what it contains is measured otherwise; it
  then stands for all of it (recorded as ``cpu:0``, its provenance says
  what it covers), and the model sources for those kinds are not used;
* an energy channel and a power channel with the same label on one chip are
  one sensor: energy wins.

The root is ``hwmon_root=``, else ``$GREENOPS_HWMON_ROOT``, else the ``hwmon`` directory next to
the powercap directory when ``powercap_root=`` is given (a container mounting the
host's ``/sys/class`` elsewhere gets both), else ``/sys/class/hwmon``.
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from greenops_tb.errors import UsageError
from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.integrate import PowerIntegrator
from greenops_tb.meters.rapl import powercap_root
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S

DEFAULT_ROOT = "/sys/class/hwmon"
ROOT_ENV = "GREENOPS_HWMON_ROOT"
KINDS = ("cpu", "gpu", "ram")
_CHANNEL = re.compile(r"^(energy|power)(\d+)_(input|average)$")
_GPU_CHIPS = frozenset({"amdgpu", "radeon", "nouveau", "i915", "xe"})
_PSU_CHIPS = re.compile(r"psu|pmbus|cffps|dps\d+|fsg\d+|pfe\d+")
#: what a container contains
CONTAINS = {"module": ("cpu", "gpu", "ram"), "system": ("cpu", "gpu", "ram"), "cpu+gpu": ("cpu", "gpu")}


@dataclass(frozen=True, slots=True)
class Sensor:
    """One hwmon power or energy channel and how it is used."""

    path: str  # the value file
    chip: str  # the chip's ``name``
    label: str  # the channel's label ("" when none)
    family: str  # "energy" (uJ, cumulative) or "power" (uW)
    role: str | None  # "cpu" | "gpu" | "ram" | "part:<kind>" | "module" | "system" | "cpu+gpu" | None
    counted: bool = False
    why: str = ""

    @property
    def title(self) -> str:
        return f"{self.chip} {self.label}".strip()


def hwmon_root(powercap: str | os.PathLike | None = None) -> str:
    """``$GREENOPS_HWMON_ROOT``, else ``hwmon`` next to the ``powercap`` directory, else /sys/class/hwmon."""
    if os.environ.get(ROOT_ENV):
        return os.environ[ROOT_ENV]
    if powercap is not None:
        return os.path.join(os.path.dirname(os.path.normpath(powercap_root(powercap))), "hwmon")
    return DEFAULT_ROOT


def classify(chip: str, label: str) -> str | None:
    """The role of a channel from its chip name and label (see the module docstring)."""
    c, lab = chip.lower(), label.lower()
    if c in ("amd_energy", "zenpower"):
        return "part:cpu" if "core" in lab else "cpu"
    if c in _GPU_CHIPS:
        return "gpu"
    if _PSU_CHIPS.search(c):
        return "system"
    if "module" in lab:
        return "module"
    if "grace" in lab:
        return "cpu"  # Grace Power Socket: CPU rail + SysIO (+ memory); its rails are parts
    if c == "power_meter" and ("cpu power" in lab or "sysio" in lab):
        return "part:cpu"
    has_cpu, has_gpu = "cpu" in lab, "gpu" in lab
    if has_cpu and has_gpu:
        return "cpu+gpu"
    if has_gpu:
        return "gpu"
    if has_cpu or "socket" in lab or "package" in lab:
        return "cpu"
    if re.search(r"dram|ddr|vddrq|\bmem", lab):
        return "ram"
    if re.search(r"\bvin|_in\b|5v_in|vdd_in|\bpsu|\bsys|total|platform", lab) or (c == "power_meter" and not lab):
        return "system"
    return None


def _read(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read().strip()


def _label(chip_dir: str, family: str, index: str) -> str:
    for name in (f"{family}{index}_label", f"{family}{index}_oem_info", f"device/{family}{index}_oem_info"):
        try:
            return _read(os.path.join(chip_dir, name))
        except OSError:
            continue
    return ""


def discover(root: str | os.PathLike | None = None) -> list[Sensor]:
    """Every power/energy channel under ``root`` with its role (not yet counted: see :func:`plan`)."""
    base = os.fspath(root) if root is not None else hwmon_root()
    try:
        chips = sorted(os.listdir(base), key=lambda e: (len(e), e))
    except OSError:
        return []
    out: list[Sensor] = []
    for entry in chips:
        chip_dir = os.path.join(base, entry)
        try:
            chip = _read(os.path.join(chip_dir, "name"))
            files = sorted(os.listdir(chip_dir))
        except OSError:
            continue
        found: dict[tuple[str, str], str] = {}  # (family, index) -> file; _input preferred over _average
        for f in files:
            m = _CHANNEL.match(f)
            if m and (m.group(1) == "power" or m.group(3) == "input"):
                key = (m.group(1), m.group(2))
                if key not in found or m.group(3) == "input":
                    found[key] = f
        energy_labels = {_label(chip_dir, "energy", i) for fam, i in found if fam == "energy"}
        for (family, index), f in sorted(found.items(), key=lambda kv: (kv[0][0], int(kv[0][1]))):
            label = _label(chip_dir, family, index)
            s = Sensor(os.path.join(chip_dir, f), chip, label, family, classify(chip, label))
            if family == "power" and label in energy_labels:
                s = _mark(s, False, "same channel as an energy sensor of this chip, which is used instead")
            out.append(s)
    return out


def _mark(s: Sensor, counted: bool, why: str) -> Sensor:
    return Sensor(s.path, s.chip, s.label, s.family, s.role, counted, why)


def plan(sensors: Sequence[Sensor], measured: Sequence[str] = ()) -> tuple[list[Sensor], dict[str, str]]:
    """Which sensors are counted (each with why) and, per kind, the role standing for it.

    ``measured``: kinds other sources already measure. Returns the sensors with ``counted``
    and ``why`` set, and ``{kind: role}`` for every kind hwmon covers ("cpu", or a container's role).
    """
    usable = [s for s in sensors if not s.why]
    roles = {s.role for s in usable}
    covered: dict[str, str] = {}
    for kind in KINDS:
        if kind in measured:
            continue
        if kind in roles:
            covered[kind] = kind
        elif f"part:{kind}" in roles:
            covered[kind] = f"part:{kind}"
    for box in ("module", "system", "cpu+gpu"):
        inside = CONTAINS[box]
        if box in roles and not any(k in measured or k in covered for k in inside):
            covered.update(dict.fromkeys(inside, box))
    out: list[Sensor] = []
    for s in sensors:
        if s.why:
            out.append(s)
        elif s.role is None:
            out.append(_mark(s, False, "unknown rail or device, not counted"))
        elif s.role in covered.values():
            parts = sorted(k for k, r in covered.items() if r == s.role)
            out.append(_mark(s, True, f"counted as {'+'.join(parts)}"))
        elif s.role.startswith("part:"):
            out.append(_mark(s, False, f"part of a whole-{s.role[5:]} sensor that is counted instead"))
        elif s.role in CONTAINS:
            out.append(_mark(s, False, f"contains {'+'.join(CONTAINS[s.role])}, measured separately: not counted twice"))
        else:
            out.append(_mark(s, False, f"{s.role} is measured by another source (RAPL, NVML or amdsmi)"))
    return out, covered


class HwmonSource(EnergySource):
    """One device's energy from hwmon channels: energy counters summed plus sampled power integrated."""

    scope = "host"

    def __init__(
        self,
        device: Device,
        sensors: Sequence[Sensor],
        *,
        note: str = "",
        covers: Sequence[str] = (),
        fallback: Callable[[], EnergySource | None] | None = None,
        interval: float = DEFAULT_INTERVAL_S,
    ) -> None:
        if not sensors:
            raise UsageError(f"HwmonSource for {device.id} needs at least one sensor")
        self.devices = (device,)
        self.sensors = tuple(sensors)
        self._note = note
        #: the kinds a container sensor stands for (e.g. cpu, gpu, ram), else just its device's
        self.covers = tuple(covers) or (device.kind,)
        self._fallback = fallback
        self._lock = threading.Lock()
        self._efds = [os.open(s.path, os.O_RDONLY) for s in sensors if s.family == "energy"]
        self._pfds = [os.open(s.path, os.O_RDONLY) for s in sensors if s.family == "power"]
        self._prev = self._raw(self._efds)
        self._uj = 0
        self._integ = PowerIntegrator(1)
        self.sample_interval = interval if self._pfds else None
        self._label = "+".join(
            lab for lab, fds in (("hwmon-energy", self._efds), ("hwmon-power-sampled", self._pfds)) if fds
        )

    @staticmethod
    def _raw(fds: Sequence[int]) -> list[int]:
        out = []
        for fd in fds:
            text = os.pread(fd, 32, 0)
            if not text.strip():
                raise OSError(f"hwmon sensor (fd {fd}) returned no data: the driver stopped answering")
            out.append(int(text))
        return out

    def sample(self) -> None:
        watts = sum(self._raw(self._pfds)) / 1e6
        self._integ.add(time.perf_counter(), [watts])

    def read(self) -> Sequence[float]:
        with self._lock:  # under the lock: an older value applied after a newer one would look like a reset
            cur = self._raw(self._efds)
            # a smaller value means the driver restarted its counter (the ABI gives no wrap width): count from 0
            self._uj += sum(c - p if c >= p else c for p, c in zip(self._prev, cur))
            self._prev = cur
            uj = self._uj
        power_j = self._integ.joules()[0] if self._pfds else 0.0
        return [uj / 1e6 + power_j]

    def provenance(self) -> Sequence[str]:
        return [self._label + self._note]

    def fallback(self, error: BaseException) -> EnergySource | None:
        return self._fallback() if self._fallback is not None else None

    def close(self) -> None:
        fds, self._efds, self._pfds = self._efds + self._pfds, [], []
        for fd in fds:
            os.close(fd)


def _describe(sensors: Sequence[Sensor]) -> str:
    return ", ".join(s.title for s in sensors)


def hwmon_sources(
    root: str | os.PathLike | None = None,
    *,
    measured: Sequence[str] = (),
    fallbacks: Mapping[str, Callable[[], EnergySource | None]] | None = None,
    interval: float = DEFAULT_INTERVAL_S,
) -> tuple[list[EnergySource], set[str]]:
    """Sources for the kinds hwmon covers (see :func:`plan`) and the set of kinds they cover.

    ``fallbacks``: per kind, the source that replaces a hwmon source failing mid-run (the model).
    """
    sensors, covered = plan(discover(root), measured)
    counted = [s for s in sensors if s.counted]
    sources: list[EnergySource] = []
    fallbacks = fallbacks or {}
    for role in dict.fromkeys(covered.values()):
        mine = [s for s in counted if s.role == role]
        kinds = sorted((k for k, r in covered.items() if r == role), key=KINDS.index)
        if role == "gpu":  # one device per GPU sensor chip
            for i, chip_path in enumerate(dict.fromkeys(os.path.dirname(s.path) for s in mine)):
                group = [s for s in mine if os.path.dirname(s.path) == chip_path]
                sources.append(HwmonSource(Device(f"gpu:{i}", "gpu", f"hwmon {_describe(group)}"), group,
                                           fallback=fallbacks.get("gpu"), interval=interval))
            continue
        kind = kinds[0]
        dev_id = "cpu:0" if kind == "cpu" else kind
        note = f" [{role} sensor: covers {'+'.join(kinds)}]" if role in CONTAINS else ""
        sources.append(HwmonSource(Device(dev_id, kind, f"hwmon {_describe(mine)}"), mine, note=note, covers=kinds,
                                   fallback=fallbacks.get(kind), interval=interval))
    return sources, set(covered)
