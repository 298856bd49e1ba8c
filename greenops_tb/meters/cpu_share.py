"""RAPL scaled by this process's share of CPU time (the Scaphandre approach), and a warning when it matters.

RAPL (and hwmon CPU sensors) measure whole sockets: every process on them.
With ``cpu_attribution="process"`` the CPU source becomes a
:class:`~greenops_tb.meters.share.ScaledSource`: its energy x this process's
CPU time (all threads, ``time.process_time``) / the CPU time all processes
spent busy (``/proc/stat``: user, nice, system, irq, softirq, steal; idle and
iowait excluded), per step. Labelled ``<label> x process-share``, scoped
"process" (each rank of a job gets its own share). ``/proc/stat`` counts in
clock ticks (10 ms), so a step without a tick keeps the previous share.

By default (``"socket"``) the figure stays whole-socket, and
:class:`ShareWatch` warns once when other processes used most of the busy
CPU time over the first seconds of measurement.
"""
from __future__ import annotations

import os
import time
import warnings
from typing import Sequence

from greenops_tb.errors import UsageError
from greenops_tb.meters.base import EnergySource
from greenops_tb.meters.share import ScaledSource, Share

PROC_STAT = "/proc/stat"
_BUSY = (0, 1, 2, 5, 6, 7)  # of: user nice system idle iowait irq softirq steal
#: below this share of busy CPU time, a whole-socket figure is mostly other processes' energy
MISLEADING_SHARE = 0.5
WATCH_S = 2.0
CPU_ATTRIBUTIONS = ("socket", "process")
LABEL = "process-share"


def busy_cpu_seconds(path: str = PROC_STAT) -> float:
    """CPU seconds all processes spent busy since boot (every CPU summed)."""
    with open(path, encoding="ascii") as f:
        fields = f.readline().split()[1:]
    return sum(int(fields[i]) for i in _BUSY if i < len(fields)) / os.sysconf("SC_CLK_TCK")


def cpu_share() -> Share:
    """This process's share of the machine's busy CPU time."""
    return Share(lambda: (time.process_time(), busy_cpu_seconds()))


class ShareWatch(EnergySource):
    """A whole-socket CPU source, unchanged, that warns once when other processes use most of the CPU."""

    def __init__(self, inner: EnergySource, *, watch_s: float = WATCH_S) -> None:
        self.inner = inner
        self.devices = inner.devices
        self.scope = inner.scope
        self.sample_interval = min(0.5, inner.sample_interval or 0.5)
        self._share = cpu_share()
        self._until = time.perf_counter() + watch_s
        self.warned = False

    def read(self) -> Sequence[float]:
        return self.inner.read()

    def sample(self) -> None:
        if self.inner.sample_interval:
            self.inner.sample()
        if self.warned or time.perf_counter() < self._until:
            return
        self._share.step()
        self.warned = True  # one look, after the first seconds
        s = self._share
        if s.all > 0 and s.mine / s.all < MISLEADING_SHARE:
            warnings.warn(
                f"greenops_tb: {','.join(self.inner.provenance())} measures the whole CPU socket, and other "
                f"processes used {100 * (1 - s.mine / s.all):.0f}% of the busy CPU time so far: this run's CPU "
                "energy includes theirs. Pass cpu_attribution='process' to count this process's share only",
                RuntimeWarning, stacklevel=2)

    def provenance(self) -> Sequence[str]:  # no context(): whole-socket sources have none, boundaries stay cheap
        return self.inner.provenance()

    def fallback(self, error: BaseException) -> EnergySource | None:
        return self.inner.fallback(error)

    def close(self) -> None:
        self.inner.close()


def attribute_cpu(sources: Sequence[EnergySource], mode: str = "socket") -> list[EnergySource]:
    """Wrap the whole-socket CPU source: scaled by this process's share ("process"), else watched ("socket")."""
    if mode not in CPU_ATTRIBUTIONS:
        raise UsageError(f"cpu_attribution must be one of {CPU_ATTRIBUTIONS}, got {mode!r}")
    if not os.path.exists(PROC_STAT):
        return list(sources)
    out: list[EnergySource] = []
    for s in sources:
        if s.scope not in (None, "host") or [d.kind for d in s.devices] != ["cpu"] or \
                tuple(getattr(s, "covers", ("cpu",))) != ("cpu",):  # a module/PSU sensor is more than the CPU
            out.append(s)
        elif mode == "process":
            out.append(ScaledSource(s, cpu_share(), LABEL, scope="process"))
        else:
            out.append(ShareWatch(s))
    return out
