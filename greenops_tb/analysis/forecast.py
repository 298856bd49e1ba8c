"""Project a stage's energy, CO2, cost and time to a planned total number of steps or epochs.

Method (documented in :func:`forecast`): each completed interval (record) gives
per-step amounts. The projection is the stage's exact running total so far plus
the remaining steps times the mean per-step rate (a ratio estimator: sum of
amounts / sum of steps). The band is a percentile bootstrap *prediction*
interval: records are resampled with replacement to get the spread of the mean
rate, and the step-to-step noise of the remaining steps is added (normal, with
the observed per-step standard deviation). With many remaining steps the rate's
uncertainty dominates; with few, the step noise does.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from greenops_tb import display
from greenops_tb.errors import UsageError
from greenops_tb.distributed.ranks import split_device_id
from greenops_tb.format.schema import Record

_BOOT = 1000  # bootstrap replicates
_CHUNK = 100  # replicates drawn at once (bounds memory for long stages)


@dataclass(frozen=True, slots=True)
class Band:
    """A projected total and its uncertainty band (``low <= estimate <= high``)."""

    estimate: float
    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Forecast:
    """Projected totals of one stage at ``total_steps``; ``cost`` is None when no price is known."""

    stage: str
    done_steps: int
    total_steps: int
    energy_kwh: Band
    co2_kg: Band
    cost: Band | None
    currency: str
    duration_s: Band
    confidence: float
    records_used: int
    method: str = "ratio estimate; percentile bootstrap prediction band"

    def describe(self) -> str:
        """One human-readable line per quantity."""
        def band(name: str, b: Band, fmt: Callable[[float], str]) -> str:
            return f"  {name:<9} {fmt(b.estimate)} [{fmt(b.low)}, {fmt(b.high)}]"

        lines = [f"forecast {self.stage}: {self.done_steps} of {self.total_steps} steps done, "
                 f"{self.confidence:.0%} band from {self.records_used} intervals"]
        lines.append(band("energy", self.energy_kwh, display.format_energy))
        lines.append(band("CO2e", self.co2_kg, display.format_co2))
        lines.append(band("cost", self.cost, lambda c: display.format_cost(c, self.currency)) if self.cost
                     else "  cost      unknown (no price)")
        lines.append(band("time", self.duration_s, display.format_duration))
        return "\n".join(lines)


def job_steps(records: Sequence[Record]) -> list[Record]:
    """A distributed job's records of one stage as one interval per step: the ranks' records of a step
    (``r<rank>/`` devices, see :mod:`greenops_tb.readers.shards`) summed, their duration the longest;
    records of a single process unchanged."""
    ranks = {split_device_id(d)[0] for r in records for d in r.devices}
    if len(ranks) < 2 or None in ranks:
        return list(records)
    by_step: dict[int, list[Record]] = {}
    for r in sorted(records, key=lambda r: r.seq):
        by_step.setdefault(r.step, []).append(r)
    out = []
    for group in by_step.values():
        last = group[-1]  # the job's running totals as of the step's last record
        costs = [r.cost for r in group]
        out.append(dataclasses.replace(
            last, energy_kwh=math.fsum(r.energy_kwh for r in group), co2_kg=math.fsum(r.co2_kg for r in group),
            cost=None if None in costs else math.fsum(c for c in costs if c is not None),
            duration_s=max(r.duration_s for r in group)))
    return sorted(out, key=lambda r: r.seq)


def _step_weights(records: Sequence[Record]) -> np.ndarray:
    """Steps each interval covers: the step increase since the previous record (at least 1).

    The first interval has no predecessor; it is taken to cover the median of the others.
    """
    steps = np.array([r.step for r in records], dtype=np.float64)
    w = np.ones(len(records))
    if len(records) > 1:
        w[1:] = np.maximum(np.diff(steps), 1.0)
        w[0] = np.median(w[1:])
    return w


def steps_per_epoch(records: Sequence[Record]) -> float:
    """Mean steps of the completed epochs (every epoch before the latest one seen)."""
    w = _step_weights(records)
    epochs = np.array([r.epoch for r in records])
    current = epochs.max()
    done = [w[epochs == e].sum() for e in np.unique(epochs) if e < current]
    if not done:
        raise UsageError("forecasting by epochs needs at least one completed epoch; pass total_steps instead")
    return float(np.mean(done))


def _bands(x: np.ndarray, w: np.ndarray, done: float, remaining: float, confidence: float,
           rng: np.random.Generator) -> Band:
    rate = x.sum() / w.sum()
    per_step = x / w
    sd = float(np.sqrt(np.average((per_step - rate) ** 2, weights=w)))
    sims = []
    n = len(x)
    for _ in range(_BOOT // _CHUNK):
        idx = rng.integers(0, n, size=(_CHUNK, n))
        boot_rate = x[idx].sum(axis=1) / w[idx].sum(axis=1)
        noise = rng.standard_normal(_CHUNK) * sd * math.sqrt(remaining)
        sims.append(remaining * boot_rate + noise)
    sim = np.concatenate(sims)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(sim, [alpha, 1.0 - alpha])
    est = remaining * rate
    return Band(done + est, done + min(lo, est), done + max(hi, est))


def forecast(
    records: Sequence[Record],
    total_steps: int | None = None,
    total_epochs: float | None = None,
    *,
    confidence: float = 0.95,
    seed: int = 0,
) -> Forecast:
    """Forecast for the records of ONE stage (any order) at ``total_steps`` or ``total_epochs``; a distributed
    job's ranks count as one step per step (:func:`job_steps`).

    ``total_epochs`` is turned into steps with :func:`steps_per_epoch`. The stage
    must have at least two completed intervals. ``seed`` makes the band reproducible.
    """
    recs = job_steps(sorted(records, key=lambda r: r.seq))
    if len(recs) < 2:
        raise UsageError(f"forecast needs at least 2 completed intervals of the stage, got {len(recs)}")
    stages = {r.stage for r in recs}
    if len(stages) != 1:
        raise UsageError(f"forecast takes the records of one stage, got stages {sorted(stages)}")
    if (total_steps is None) == (total_epochs is None):
        raise UsageError("pass exactly one of total_steps or total_epochs")
    if not 0.0 < confidence < 1.0:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence}")
    w = _step_weights(recs)
    done = int(w.sum())
    if total_epochs is not None:
        if total_epochs <= 0:
            raise UsageError(f"total_epochs must be positive, got {total_epochs}")
        total_steps = round(total_epochs * steps_per_epoch(recs))
    assert total_steps is not None
    if total_steps < done:
        raise UsageError(f"total_steps={total_steps} is below the {done} steps already done")
    remaining = float(total_steps - done)
    last = recs[-1]
    rng = np.random.default_rng(seed)

    def band(values: list[float], so_far: float) -> Band:
        return _bands(np.asarray(values, dtype=np.float64), w, so_far, remaining, confidence, rng)

    costs = [r.cost for r in recs if r.cost is not None]
    return Forecast(
        stage=last.stage,
        done_steps=done,
        total_steps=int(total_steps),
        energy_kwh=band([r.energy_kwh for r in recs], last.stage_energy_kwh),
        co2_kg=band([r.co2_kg for r in recs], last.stage_co2_kg),
        cost=band(costs, last.stage_cost) if len(costs) == len(recs) and last.stage_cost is not None else None,
        currency=last.currency,
        duration_s=band([r.duration_s for r in recs], last.stage_duration_s),
        confidence=confidence,
        records_used=len(recs),
    )
