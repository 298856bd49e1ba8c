"""CPU package and DRAM energy from Linux powercap/RAPL (Intel and AMD alike).

Zones live under ``/sys/class/powercap`` (configurable: containers mount it
elsewhere, tests point it at a tree they write). Each zone directory has
``name``, ``energy_uj`` (a counter that wraps at ``max_energy_range_uj``) and
possibly subzones ``<zone>:<n>``. What is counted, so nothing counts twice:

* top-level ``package-N`` zones -> device ``cpu:0`` (all sockets summed);
  their ``core``/``uncore`` subzones are part of the package and skipped;
* ``dram`` zones (a package's subzone, or top-level on some servers) ->
  device ``ram`` (all sockets summed); DRAM is not part of the package;
* ``psys`` (whole platform, includes the package) and ``intel-rapl-mmio``
  (a second interface to the same package counter) are skipped.

The device ids match the model sources', so a fallback keeps the same CSV
columns. Reads use ``pread`` on descriptors kept open (sysfs regenerates the
value on every read at offset 0). The shared sampler reads the counters often
enough that no wraparound is missed between two stage boundaries.

Every delta is checked (:mod:`counter`) against what the zone can draw (1.5 x its
``constraint_0`` power, else 1000 W): a smaller value is a wrap at
``max_energy_range_uj`` only when the wrapped difference is plausible, else a
reset; a jump or garbage is not counted. Such an interval counts the average power
so far instead and says ``rapl (glitch: reset)``.

``energy_uj`` is readable by root only on most kernels since 2020
(CVE-2020-8694). :func:`rapl_sources` then warns once, with the command that
grants read access, and returns the model sources labelled with the reason.
"""
from __future__ import annotations

import functools
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

from greenops_tb.errors import UsageError
from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.counter import Counter, plausible_max_w

DEFAULT_ROOT = "/sys/class/powercap"
ROOT_ENV = "GREENOPS_POWERCAP_ROOT"
#: assumed worst-case draw of one zone, to choose how often to read before a counter can wrap
_MAX_ZONE_W = 1000.0
#: RAPL counters update about every millisecond: a delta may carry this long's energy on top
_SLACK_S = 0.01
_ZONE_RE = re.compile(r"^(?:intel|amd)-rapl:\d+(?::\d+)*$")

FIX_HINT = (
    "grant read access with `sudo chmod o+r {root}/*-rapl:*/energy_uj` (until reboot) or permanently with a "
    "udev rule such as `ACTION==\"add\", SUBSYSTEM==\"powercap\", RUN+=\"/bin/chmod o+r /sys%p/energy_uj\"` "
    "in /etc/udev/rules.d/90-powercap.rules"
)


@dataclass(frozen=True, slots=True)
class RaplZone:
    """One powercap zone and whether it is counted."""

    path: str
    name: str
    kind: str | None  # "cpu", "ram", or None when skipped
    why: str  # what it counts as, or why it is skipped
    max_range_uj: int
    readable: str | None  # None when energy_uj can be read, else the error text
    rated_w: float | None = None  # the zone's long-term power limit (constraint_0), when powercap gives it


def powercap_root(root: str | os.PathLike | None = None) -> str:
    """The powercap directory: the argument, else ``$GREENOPS_POWERCAP_ROOT``, else /sys/class/powercap.

    A sysfs root (``/sys``, or a copy mounted elsewhere: it has a ``class`` directory) or its ``class``
    directory is understood: the ``powercap`` directory under it is used.
    """
    path = os.fspath(root) if root is not None else os.environ.get(ROOT_ENV, DEFAULT_ROOT)
    norm = os.path.normpath(path)
    if os.path.isdir(os.path.join(norm, "class")):
        return os.path.join(norm, "class", "powercap")
    if os.path.basename(norm) == "class" and os.path.isdir(norm):
        return os.path.join(norm, "powercap")
    return path


def _read_text(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def _classify(entry: str, name: str) -> tuple[str | None, str]:
    top = entry.count(":") == 1
    if name == "dram":
        return "ram", "DRAM"
    if top and name.startswith("package"):
        return "cpu", "CPU package (includes core and uncore)"
    if top and name == "psys":
        return None, "platform zone; includes the package, not counted"
    if name in ("core", "uncore"):
        return None, "part of its package, not counted twice"
    return None, f"unknown domain {name!r}, not counted"


def discover(root: str | os.PathLike | None = None) -> list[RaplZone]:
    """Every RAPL zone under ``root``, counted or not (``doctor`` shows them all)."""
    base = powercap_root(root)
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return []
    zones: list[RaplZone] = []
    seen: set[str] = set()
    for entry in entries:
        if not _ZONE_RE.match(entry):
            continue  # control types ("intel-rapl"), intel-rapl-mmio duplicates, other drivers
        path = os.path.join(base, entry)
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        try:
            name = _read_text(os.path.join(path, "name"))
            max_range = int(_read_text(os.path.join(path, "max_energy_range_uj")))
        except (OSError, ValueError) as err:
            zones.append(RaplZone(path, "?", None, f"unreadable zone: {err}", 0, str(err)))
            continue
        kind, why = _classify(entry, name)
        try:
            int(_read_text(os.path.join(path, "energy_uj")))
            readable = None
        except (OSError, ValueError) as err:
            readable = f"{type(err).__name__}: {err}"
        zones.append(RaplZone(path, name, kind, why, max_range, readable, _rated_w(path)))
    return zones


def _rated_w(path: str) -> float | None:
    """The zone's rated power (constraint 0's max power, else its limit), None when powercap does not say."""
    for name in ("constraint_0_max_power_uw", "constraint_0_power_limit_uw"):
        try:
            uw = int(_read_text(os.path.join(path, name)))
        except (OSError, ValueError):
            continue
        if uw > 0:
            return uw / 1e6
    return None


class RaplSource(EnergySource):
    """Cumulative joules of one device (``cpu:0`` or ``ram``) summed over its zones."""

    def __init__(
        self,
        device: Device,
        zones: Sequence[RaplZone],
        fallback: Callable[[], EnergySource | None] | None = None,
    ) -> None:
        if not zones:
            raise UsageError(f"RaplSource for {device.id} needs at least one zone")
        self.devices = (device,)
        self.zones = tuple(zones)
        self._fallback = fallback
        self._lock = threading.Lock()
        self._fds = [os.open(os.path.join(z.path, "energy_uj"), os.O_RDONLY) for z in zones]
        try:
            now = time.perf_counter()
            self._counters = [
                Counter(f"the RAPL counter {os.path.join(z.path, 'energy_uj')}", int(os.pread(fd, 32, 0)), now,
                        joules_per_unit=1e-6, max_power_w=plausible_max_w(z.rated_w, _MAX_ZONE_W),
                        wrap_at=z.max_range_uj or None, slack_s=_SLACK_S)
                for z, fd in zip(zones, self._fds)
            ]
        except (OSError, ValueError):
            self.close()
            raise
        # read (sample) often enough that a counter cannot wrap twice between reads
        self.sample_interval = max(0.5, min(60.0, min(z.max_range_uj for z in zones) / 1e6 / _MAX_ZONE_W / 2))

    def _advance(self) -> float:
        with self._lock:  # read under the lock: an older value applied after a newer one would look like a wrap
            now = time.perf_counter()
            for fd, c in zip(self._fds, self._counters):
                c.advance(os.pread(fd, 32, 0), now, functools.partial(c.average_w, now))
            return sum(c.joules for c in self._counters)

    def read(self) -> Sequence[float]:
        return [self._advance()]

    def sample(self) -> None:
        self._advance()

    def provenance(self) -> Sequence[str]:
        glitches = sorted({c.label for c in self._counters if c.label})
        for c in self._counters:
            c.shown()
        return [f"rapl ({', '.join(glitches)})" if glitches else "rapl"]

    def fallback(self, error: BaseException) -> EnergySource | None:
        return self._fallback() if self._fallback is not None else None

    def close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)


class LabelledSource(EnergySource):
    """Another source, with a note on its provenance (why it is used instead of RAPL)."""

    def __init__(self, inner: EnergySource, note: str) -> None:
        self.inner = inner
        self.note = note
        self.devices = inner.devices
        self.sample_interval = inner.sample_interval
        self.scope = inner.scope

    def read(self) -> Sequence[float]:
        return self.inner.read()

    def read_at(self, t_mono: float) -> Sequence[float]:
        return self.inner.read_at(t_mono)

    def sample(self) -> None:
        self.inner.sample()

    def provenance(self) -> Sequence[str]:
        return [f"{p} ({self.note})" for p in self.inner.provenance()]

    def fallback(self, error: BaseException) -> EnergySource | None:
        return self.inner.fallback(error)

    def close(self) -> None:
        self.inner.close()


ModelFactory = Callable[[], EnergySource]


def rapl_sources(
    root: str | os.PathLike | None = None,
    *,
    cpu_model: ModelFactory | None = None,
    ram_model: ModelFactory | None = None,
    cpu_name: str = "",
) -> list[EnergySource]:
    """RAPL sources for ``cpu:0`` and ``ram``, or the model sources where RAPL cannot be used.

    A kind RAPL does not cover (no powercap, no dram zone) gets its model
    source unlabelled; an unreadable counter gets it labelled with the reason
    and ONE warning for the whole call that says how to grant access.
    """
    zones = discover(root)
    plan = [("cpu", Device("cpu:0", "cpu", cpu_name or "CPU"), cpu_model), ("ram", Device("ram", "ram", "RAM"), ram_model)]
    sources: list[EnergySource] = []
    denied: list[str] = []
    for kind, device, model in plan:
        mine = [z for z in zones if z.kind == kind]
        bad = [z for z in mine if z.readable is not None]
        if mine and not bad:
            named = Device(device.id, kind, device.name if kind == "ram" else f"{device.name} ({len(mine)} package(s))")
            sources.append(RaplSource(named, mine, model))
        elif model is not None:
            if bad:
                denied.append(f"{os.path.join(bad[0].path, 'energy_uj')}: {bad[0].readable}")
                sources.append(LabelledSource(model(), "rapl unreadable"))
            else:
                sources.append(model())
    if denied:
        warnings.warn(
            f"greenops_tb: cannot read RAPL energy counters ({'; '.join(denied)}); most kernels since 2020 allow "
            f"root only (CVE-2020-8694). CPU/RAM energy is estimated by the model instead. To measure it, "
            + FIX_HINT.format(root=powercap_root(root)),
            RuntimeWarning,
            stacklevel=2,
        )
    return sources
