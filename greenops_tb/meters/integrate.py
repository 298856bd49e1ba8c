"""Trapezoid integration of sampled power into cumulative joules.

Used by every source that only knows power (RAM model, NVML power-only GPUs).
``add(t, watts)`` is called from the sampler thread; ``joules(now)`` from any
thread at a stage boundary returns the integral up to the last sample plus the
last power held until ``now`` (so a window shorter than the sampling interval
is power x time, never zero).
"""
from __future__ import annotations

import time
from typing import Sequence


class PowerIntegrator:
    """Cumulative energy of N channels from power samples on a monotonic clock.

    One writer (the sampler thread) and any number of readers, without a lock: the state is one tuple
    ``(t, power, joules)``, replaced whole by :meth:`add`, so a reader sees one sample's state or the
    next's, never a mix (the stage boundary, on the training thread, never waits for the sampler).
    """

    __slots__ = ("_state",)

    def __init__(self, channels: int) -> None:
        self._state: tuple[float | None, list[float], list[float]] = (None, [0.0] * channels, [0.0] * channels)

    def add(self, t: float, watts: Sequence[float]) -> None:
        """Add one sample taken at monotonic time ``t`` (seconds); the sampler thread's, one at a time."""
        t0, p, j = self._state
        if t0 is not None:
            dt = t - t0
            if dt > 0:
                j = [j + 0.5 * (p0 + p1) * dt for j, p0, p1 in zip(j, p, watts)]
        self._state = (t, list(watts), j)

    def joules(self, now: float | None = None) -> list[float]:
        """Integral up to ``now`` (default: perf_counter), holding the last power after the last sample."""
        t, p, j = self._state
        if t is None:
            return list(j)
        dt = (time.perf_counter() if now is None else now) - t
        if dt <= 0:
            return list(j)
        return [e + w * dt for e, w in zip(j, p)]

    @property
    def last_power(self) -> list[float]:
        return list(self._state[1])
