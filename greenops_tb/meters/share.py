"""A device's energy scaled by this process's share of its use: per-process attribution on shared machines.

:class:`Share` turns two cumulative counts, this process's use and every
process's use of a device (CPU seconds, GPU utilisation samples, GPU engine
nanoseconds), into the share over each step. :class:`ScaledSource` wraps a
whole-device source: over every step (a sampler tick or a boundary) it adds
the inner source's energy x the share over that step, so a share that moves
during a record is followed, not averaged. A step in which the device was not
used at all (or whose counts did not move) keeps the previous share.
"""
from __future__ import annotations

import threading
from typing import Callable, Mapping, Sequence

from greenops_tb.meters.base import EnergySource


class Share:
    """This process's share of a device's use, from ``read() -> (mine, everyone's)`` cumulative counts."""

    def __init__(self, read: Callable[[], tuple[float, float]], initial: float = 1.0) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._mine, self._all = read()
        self.share = initial
        self.mine = 0.0  # this process's use since the start
        self.all = 0.0  # every process's use since the start

    def step(self) -> float:
        """Advance to now; the share over the step (the previous one when the counts did not move)."""
        with self._lock:
            mine, total = self._read()
            dm, da = mine - self._mine, total - self._all
            if da > 0:
                self.share = min(1.0, max(0.0, dm / da))
                self._mine, self._all = mine, total
                self.mine += dm
                self.all += da
            return self.share


class ScaledSource(EnergySource):
    """A whole-device source whose energy is scaled by ``share`` at every step; labelled ``<label> x <what>``."""

    def __init__(self, inner: EnergySource, share: Share, what: str, *, scope: str | None,
                 interval: float = 0.5) -> None:
        self.inner = inner
        self.devices = inner.devices
        self.share = share
        self.what = what
        self.scope = scope
        self.sample_interval = min(interval, inner.sample_interval or interval)
        self._interval = interval
        self._lock = threading.Lock()
        self._prev = list(inner.read())
        self._j = [0.0] * len(self.devices)

    def _step(self) -> list[float]:
        with self._lock:
            cur = list(self.inner.read())
            try:
                share = self.share.step()
            except Exception:  # noqa: BLE001 - the share stops moving; the energy goes on
                share = self.share.share
            self._j = [j + max(0.0, c - p) * share for j, c, p in zip(self._j, cur, self._prev)]
            self._prev = cur
            return list(self._j)

    def read(self) -> Sequence[float]:
        return self._step()

    def sample(self) -> None:
        if self.inner.sample_interval:
            self.inner.sample()
        self._step()

    def context(self) -> Sequence[Mapping[str, float]]:
        return self.inner.context()

    def provenance(self) -> Sequence[str]:
        return [f"{p} x {self.what}" for p in self.inner.provenance()]

    def fallback(self, error: BaseException) -> EnergySource | None:
        repl = self.inner.fallback(error)
        if repl is None or repl.scope == "process":
            return repl  # a model of this process's share already
        return ScaledSource(repl, self.share, self.what, scope=self.scope, interval=self._interval)

    def close(self) -> None:
        self.inner.close()
