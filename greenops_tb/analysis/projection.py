"""Energy per request projected to a request volume: per year kWh, CO2e, cost and water, and compute hours a day.

Pure arithmetic (tested exactly in ``tests/test_inference_projection.py``):

* ``kwh_per_year = J per request x requests per day x 365 / 3.6e6`` (IT energy, before PUE), its range from the
  J per request range;
* CO2e, cost and water per year: that kWh times the run's own CO2e, cost and water per IT kWh (PUE, grid intensity,
  price and WUE of where the bench ran); their ranges add the PUE (cost, water) and the grid (CO2e) relative
  errors of :mod:`greenops_tb.analysis.uncertainty` in quadrature to the J per request's;
* ``compute_hours_per_day = p50 latency x requests per day / batch size / 3600`` (one call serves ``batch size``
  requests; at batch size 1 this is the seed's 0.5 s x 1,000,000 / 3600 = 138.9 h).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from greenops_tb.analysis.uncertainty import Range
from greenops_tb.format.units import J_PER_KWH

DAYS_PER_YEAR = 365
S_PER_H = 3600.0


@dataclass(frozen=True, slots=True)
class PerKwh:
    """What one IT kWh of the bench's runs came with, and the relative errors those figures add."""

    co2_kg: float
    cost: float | None  # None: no electricity price known
    currency: str
    water_l: float | None  # None: neither WUE nor a grid mix known
    facility_rel: tuple[float, float] = (0.0, 0.0)  # PUE: (low, high) relative half-widths
    co2_rel: tuple[float, float] = (0.0, 0.0)  # PUE and grid together


@dataclass(frozen=True, slots=True)
class Yearly:
    """One variant at a request volume."""

    kwh: Range
    co2_kg: Range
    cost: Range | None
    water_l: Range | None
    compute_hours_per_day: float


def _quad(a: float, b: float) -> float:
    return math.sqrt(a * a + b * b)


def _scaled(energy: Range, factor: float, rel: tuple[float, float]) -> Range:
    """``energy`` x ``factor``, its relative range widened by ``rel`` in quadrature."""
    value = energy.value * factor
    if energy.value <= 0:
        return Range(value, energy.low * factor, energy.high * factor)
    r_low = _quad(1 - energy.low / energy.value, rel[0])
    r_high = _quad(energy.high / energy.value - 1, rel[1])
    return Range(value, max(0.0, value * (1 - r_low)), value * (1 + r_high))


def yearly(j_per_request: Range, latency_p50_s: float, batch_size: int, requests_per_day: float,
           per_kwh: PerKwh) -> Yearly:
    """One variant's J per request and p50 latency at ``requests_per_day`` (see the module's rules)."""
    if not requests_per_day >= 0 or math.isinf(requests_per_day):
        raise ValueError(f"requests_per_day must be a finite number >= 0, got {requests_per_day!r}")
    per_year = requests_per_day * DAYS_PER_YEAR / J_PER_KWH
    kwh = Range(j_per_request.value * per_year, j_per_request.low * per_year, j_per_request.high * per_year)
    return Yearly(
        kwh=kwh,
        co2_kg=_scaled(kwh, per_kwh.co2_kg, per_kwh.co2_rel),
        cost=None if per_kwh.cost is None else _scaled(kwh, per_kwh.cost, per_kwh.facility_rel),
        water_l=None if per_kwh.water_l is None else _scaled(kwh, per_kwh.water_l, per_kwh.facility_rel),
        compute_hours_per_day=latency_p50_s * requests_per_day / batch_size / S_PER_H,
    )
