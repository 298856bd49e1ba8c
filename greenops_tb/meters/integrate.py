"""Trapezoid integration of sampled power into cumulative joules.

Used by every source that only knows power (RAM model, NVML power-only GPUs).
``add(t, watts)`` is called from the sampler thread; ``joules(now)`` from any
thread at a stage boundary returns the integral up to the last sample plus the
last power held until ``now`` (so a window shorter than the sampling interval
is power x time, never zero).
"""
from __future__ import annotations

import threading
import time
from typing import Sequence


class PowerIntegrator:
    """Cumulative energy of N channels from power samples on a monotonic clock."""

    __slots__ = ("_lock", "_t", "_p", "_j")

    def __init__(self, channels: int) -> None:
        self._lock = threading.Lock()
        self._t: float | None = None
        self._p = [0.0] * channels
        self._j = [0.0] * channels

    def add(self, t: float, watts: Sequence[float]) -> None:
        """Add one sample taken at monotonic time ``t`` (seconds)."""
        with self._lock:
            if self._t is not None:
                dt = t - self._t
                if dt > 0:
                    self._j = [j + 0.5 * (p0 + p1) * dt for j, p0, p1 in zip(self._j, self._p, watts)]
            self._t = t
            self._p = list(watts)

    def joules(self, now: float | None = None) -> list[float]:
        """Integral up to ``now`` (default: perf_counter), holding the last power after the last sample."""
        with self._lock:
            if self._t is None:
                return list(self._j)
            dt = (time.perf_counter() if now is None else now) - self._t
            if dt <= 0:
                return list(self._j)
            return [j + p * dt for j, p in zip(self._j, self._p)]

    @property
    def last_power(self) -> list[float]:
        with self._lock:
            return list(self._p)
