"""Statistics of a device's context (what its source says it was doing, e.g. ``util_pct``) over a run's records."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ContextStats:
    """One context key of one device over the kept records (see :mod:`greenops_tb.analysis.run_summary`)."""

    mean: float  # weighted by record duration
    max: float
    last: float


class ContextAccumulator:
    """Running duration-weighted sum, plain sum, max and last value of one context key."""

    __slots__ = ("weighted", "weight", "total", "count", "max", "last")

    def __init__(self) -> None:
        self.weighted = self.weight = self.total = 0.0
        self.count = 0
        self.max = -math.inf
        self.last = math.nan

    def add(self, value: float, duration_s: float) -> None:
        self.weighted += value * duration_s
        self.weight += duration_s
        self.total += value
        self.count += 1
        self.max = max(self.max, value)
        self.last = value

    def stats(self) -> ContextStats:
        mean = self.weighted / self.weight if self.weight > 0 else self.total / self.count
        return ContextStats(mean=mean, max=self.max, last=self.last)
