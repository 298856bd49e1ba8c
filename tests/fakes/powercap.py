"""A powercap sysfs tree written by the test, with counters advanced by a helper thread.

Zones are written like the kernel's: ``<root>/intel-rapl:N/{name,energy_uj,max_energy_range_uj}``
and subzones ``intel-rapl:N:M`` (listed at the root too, as symlinks into
their package, like /sys/class/powercap). A helper thread advances each
``energy_uj`` at the zone's known power, wrapping at ``max_energy_range_uj``,
and records the write times so tests know the exact energy behind every value.

Faults: a zone's ``fault`` (counter value in uJ -> the text written instead) applies to every
write while set; :func:`make_unreadable` makes an already open ``energy_uj`` descriptor fail
its reads (EISDIR), as a counter that went away does.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

WIDTH = 20  # values are zero-padded and written in place, so a reader never sees a half-written file


@dataclass
class Zone:
    entry: str  # "intel-rapl:0" or "intel-rapl:0:1"
    name: str  # "package-0", "core", "dram", "psys"
    watts: float
    max_range_uj: int = 262_143_328_850
    start_uj: int = 0
    mode: int = 0o444
    fault: Callable[[int], str] | None = None
    path: Path = field(init=False)


class Ticking:
    """A sysfs tree whose counters a helper thread rewrites every ``tick_s`` (``write_all``).

    ``start()`` begins, ``stop()`` ends (also as a context manager); ``held()`` pauses the
    writes and yields the instant (perf_counter) the values now in the files describe.
    """

    def __init__(self, tick_s: float) -> None:
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._lock = threading.RLock()  # held() may wrap a test's own changes to the tree
        self._thread: threading.Thread | None = None
        self.t0 = time.perf_counter()
        self.last_write = self.t0
        #: the longest time between two writes so far: how far the files can lag behind the instant they are read
        self.max_gap = 0.0

    def write_all(self) -> float:
        raise NotImplementedError

    @contextlib.contextmanager
    def held(self) -> Iterator[float]:
        with self._lock:
            yield self.last_write

    def forget_gaps(self) -> None:
        """Measure :attr:`max_gap` afresh from the next write on (after :meth:`held`: its pause is no lag)."""
        t = time.perf_counter()
        while self.last_write <= t and self._thread is not None and not self._stop.is_set():
            time.sleep(self.tick_s)
        self.max_gap = 0.0

    def start(self) -> "Ticking":
        self.t0 = self.last_write = time.perf_counter()
        self.write_all()
        self._thread = threading.Thread(target=self._run, name=f"fake-{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.write_all()
            time.sleep(self.tick_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def __enter__(self) -> "Ticking":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakePowercap(Ticking):
    """Writes the tree under ``root``; ``start()`` begins advancing counters, ``stop()`` ends it."""

    def __init__(self, root: Path, zones: list[Zone], tick_s: float = 0.0005) -> None:
        super().__init__(tick_s)
        self.root = Path(root)
        self.zones = zones
        self._fds: list[int] = []
        (self.root / "intel-rapl").mkdir(parents=True, exist_ok=True)  # the control-type directory
        for z in zones:
            parent = z.entry.rsplit(":", 1)[0] if z.entry.count(":") == 2 else None
            z.path = (self.root / parent / z.entry) if parent else (self.root / z.entry)
            z.path.mkdir(parents=True, exist_ok=True)
            (z.path / "name").write_text(z.name + "\n")
            (z.path / "max_energy_range_uj").write_text(f"{z.max_range_uj}\n")
            (z.path / "energy_uj").write_text(self._value(z, 0.0))
            os.chmod(z.path / "energy_uj", z.mode)
            if parent:
                os.symlink(z.path, self.root / z.entry)
        self._fds = [os.open(z.path / "energy_uj", os.O_WRONLY) for z in zones]

    def _value(self, z: Zone, t: float) -> str:
        uj = (z.start_uj + int(z.watts * t * 1e6)) % z.max_range_uj
        text = z.fault(uj) if z.fault is not None else str(uj)
        return f"{text:>0{WIDTH}}\n" if text.isdigit() else f"{text:<{WIDTH}}\n"

    def write_all(self) -> float:
        with self._lock:
            return self._write()

    def _write(self) -> float:
        t = time.perf_counter()
        for z, fd in zip(self.zones, self._fds):
            os.pwrite(fd, self._value(z, t - self.t0).encode(), 0)
        self.max_gap = max(self.max_gap, t - self.last_write)
        self.last_write = t
        return t

    def write_now(self, zone: Zone, text: str) -> None:
        """Put ``text`` into ``zone``'s energy_uj at once (call inside :meth:`held`, else the thread overwrites it)."""
        os.pwrite(self._fds[self.zones.index(zone)], f"{text:<{WIDTH}}\n".encode(), 0)

    @contextlib.contextmanager
    def held(self) -> Iterator[float]:
        """Bring the counters up to date, then pause them (as a live counter reads at any instant, however late
        a loaded machine runs the ticker); yields the instant (perf_counter) the values in the files describe."""
        with self._lock:
            yield self._write()

    def stop(self) -> None:
        super().stop()
        for fd in self._fds:
            os.close(fd)
        self._fds = []


def intel_two_sockets(root: Path, **kw: object) -> FakePowercap:
    """Two packages (with core/uncore subzones) and their DRAM, plus psys and an mmio duplicate."""
    zones = [
        Zone("intel-rapl:0", "package-0", 60.0),
        Zone("intel-rapl:0:0", "core", 40.0),
        Zone("intel-rapl:0:1", "uncore", 5.0),
        Zone("intel-rapl:0:2", "dram", 8.0),
        Zone("intel-rapl:1", "package-1", 40.0),
        Zone("intel-rapl:1:0", "core", 25.0),
        Zone("intel-rapl:1:1", "dram", 6.0),
        Zone("intel-rapl:2", "psys", 150.0),
    ]
    cap = FakePowercap(root, zones, **kw)
    mmio = Path(root) / "intel-rapl-mmio:0"
    mmio.mkdir()
    (mmio / "name").write_text("package-0\n")
    (mmio / "max_energy_range_uj").write_text("262143328850\n")
    (mmio / "energy_uj").write_text("0\n")
    return cap


def make_unreadable(fd: int, root: Path) -> None:
    """Every later read of the open descriptor ``fd`` fails (EISDIR): a directory now sits behind it."""
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.dup2(dir_fd, fd)
    finally:
        os.close(dir_fd)


_CAP_V3 = 0x20080522
_DAC_BITS = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


@contextlib.contextmanager
def as_unprivileged_reader() -> Iterator[None]:
    """File permissions apply to this thread even as root (drops the DAC capabilities while inside).

    Linux capabilities are per thread, so the real kernel refuses the read, as
    it does for a normal user reading a root-only ``energy_uj``.
    """
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    hdr, data = _CapHeader(_CAP_V3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    saved = data[0].effective
    data[0].effective = saved & ~_DAC_BITS
    if libc.capset(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    try:
        yield
    finally:
        data[0].effective = saved
        libc.capset(ctypes.byref(hdr), data)
