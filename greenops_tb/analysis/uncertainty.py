"""Honest error bars: a low-high range for every energy, CO2e and cost total, from how it was measured.

Each contribution is a relative half-width (``0.05`` = +-5 %) with the published source or stated
assumption it rests on; ``docs/METHOD.md`` lists them all. The rule (also in METHOD.md):

1. Devices: device ``d`` with energy ``E_d`` measured by a source of half-width ``m_d`` contributes the
   absolute error ``m_d * E_d`` (a device whose source changed mid-run adds its segments linearly: the same
   sensor). Devices are independent: ``u_dev = sqrt(sum (m_d * E_d)^2) / E``.
2. PUE, grid intensity (basis, age, live or yearly, how the location was chosen) are further independent
   relative errors; some are one-sided (an assumed PUE of 1.0 can only be too low).
3. Each side is combined in quadrature: ``r_low = sqrt(u_dev^2 + sum low_i^2)``, ``r_high`` likewise, and the
   range is ``value * (1 - r_low) .. value * (1 + r_high)`` (the low end never below 0). IT energy uses the
   device term only; facility energy and cost add PUE; CO2e adds PUE and grid.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping, Sequence

from greenops_tb.analysis.latest import by_stage
from greenops_tb.errors import UsageError
from greenops_tb.format.schema import Record

#: Citation keys -> full references (docs/METHOD.md prints the same).
CITATIONS: dict[str, str] = {
    "nvml-docs": "NVIDIA, NVML API Reference Guide, nvmlDeviceGetPowerUsage: power reading accurate to within "
                 "+/-5 % of current draw",
    "yang-sc24": "Z. Yang, K. Adamek, W. Armour, 'Accurate and Convenient Energy Measurements for GPUs: A Detailed "
                 "Study of NVIDIA GPU's Built-in Power Sensor', SC'24 (preprint 'Part-time Power Measurements: "
                 "nvidia-smi's Lack of Attention', arXiv:2312.02741)",
    "khan-rapl": "K. N. Khan, M. Hirki, T. Niemi, J. K. Nurminen, Z. Ou, 'RAPL in Action: Experiences in Using RAPL "
                 "for Power Measurements', ACM TOMPECS 3(2), 2018",
    "fischer-2025": "R. Fischer, 'Ground-Truthing AI Energy Consumption: Validating CodeCarbon Against External "
                    "Measurements', arXiv:2509.22092, 2025 (static and dynamic estimates off by up to 40 %)",
    "tranberg-2019": "B. Tranberg, O. Corradi, B. Lajoie, T. Gibon, I. Staffell, G. B. Andresen, 'Real-time carbon "
                     "accounting method for the European electricity markets', Energy Strategy Reviews 26, 2019",
    "uptime-2023": "Uptime Institute, Global Data Center Survey 2023 (average annual PUE 1.58)",
    "assumption": "greenops_tb's stated assumption (no single published figure; see docs/METHOD.md)",
}

#: Provenance label (before any " (fallback: ...)" note) -> (relative half-width, citation key).
MEASUREMENT: dict[str, tuple[float, str]] = {
    "nvml-energy": (0.05, "nvml-docs"),
    "nvml-energy+power-interp": (0.10, "yang-sc24"),
    "nvml-power-sampled": (0.10, "yang-sc24"),
    "rapl": (0.10, "khan-rapl"),
    "constant": (0.10, "assumption"),
    "model-gpu-avg": (0.40, "fischer-2025"),
    "model-gpu-tdp": (0.40, "fischer-2025"),
    "model-gpu-tdp-util": (0.40, "fischer-2025"),
    "model-tdp": (0.40, "fischer-2025"),
    "model-rss": (0.40, "fischer-2025"),
    "model-tdp-default": (0.60, "assumption"),
}
#: Any other ``model*`` label, and labels we do not know.
UNKNOWN_MODEL = (0.40, "fischer-2025")
UNKNOWN_LABEL = (0.60, "assumption")

PUE_GIVEN = (0.05, "assumption")  # a site's stated PUE is an annual average; the run's moment differs
PUE_ASSUMED_HIGH = (0.58, "uptime-2023")  # PUE 1.0 assumed: the true value may be up to the average 1.58
YEARLY_INTENSITY = (0.10, "assumption")  # a yearly average applied to hours or days of one run
LIVE_INTENSITY = (0.05, "assumption")  # the provider's value for the hour the interval fell in
AGE_PER_YEAR = (0.03, "assumption")  # per year between the data year and the run's year
PRODUCTION_BASIS = (0.10, "tranberg-2019")  # production-based intensity ignores imports and exports
LOCATION: dict[str, tuple[float, str]] = {
    "world-average": (0.50, "assumption"),  # the place is unknown; national values span ~20-800 g/kWh
    "timezone": (0.15, "assumption"),  # the country guessed from the system time zone
}

RULE = ("independent relative errors in quadrature, each side separately; devices add their absolute errors "
        "in quadrature (docs/METHOD.md)")


@dataclass(frozen=True, slots=True)
class Factor:
    """One contribution to a range: relative half-widths below and above, and what it rests on."""

    name: str  # "gpu:0 nvml-energy", "pue", "grid age"
    applies_to: str  # "energy" | "pue" | "grid"
    low: float
    high: float
    source: str  # a key of CITATIONS

    @property
    def citation(self) -> str:
        return CITATIONS[self.source]


@dataclass(frozen=True, slots=True)
class Range:
    """A value and its low-high range (same unit)."""

    value: float
    low: float
    high: float

    def text(self, fmt: str = "{:.3g}") -> str:
        """``12.3 (9.8-15.1)``."""
        return f"{fmt.format(self.value)} ({fmt.format(self.low)}-{fmt.format(self.high)})"


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """Ranges of one total (a run or a stage) and the factors behind them."""

    energy_kwh: Range  # IT energy
    facility_energy_kwh: Range
    co2_kg: Range
    cost: Range | None
    relative: Mapping[str, tuple[float, float]]  # "energy" | "facility" | "co2" -> (r_low, r_high)
    factors: tuple[Factor, ...]
    rule: str = RULE


def base_label(provenance: str) -> str:
    """``model-tdp (fallback: rapl unreadable)`` -> ``model-tdp``."""
    return provenance.split(" (", 1)[0].strip()


def measurement(provenance: str) -> tuple[float, str]:
    """(relative half-width, citation key) of a device's provenance label."""
    label = base_label(provenance)
    if label in MEASUREMENT:
        return MEASUREMENT[label]
    return UNKNOWN_MODEL if label.startswith("model") else UNKNOWN_LABEL


def data_year(intensity_source: str) -> int | None:
    """``ember-2024`` -> 2024; None when the label names no year (live values)."""
    m = re.search(r"(?<!\d)(19|20)\d{2}(?!\d)", intensity_source)
    return int(m.group(0)) if m else None


def is_live(intensity_source: str) -> bool:
    return "-live" in intensity_source


def _sym(name: str, factor: tuple[float, str], applies_to: str = "grid") -> Factor:
    return Factor(name, applies_to, factor[0], factor[0], factor[1])


def grid_factors(intensity_source: str, location_source: str, basis: str, run_time: float) -> list[Factor]:
    """Grid contributions: live or yearly value, the data's age, its basis, how the place was chosen."""
    out: list[Factor] = []
    if is_live(intensity_source):
        out.append(_sym("grid live value", LIVE_INTENSITY))
    else:
        out.append(_sym("grid yearly average", YEARLY_INTENSITY))
        year = data_year(intensity_source)
        run_year = datetime.fromtimestamp(run_time, tz=timezone.utc).year
        if year is not None and run_year > year:
            age = run_year - year
            out.append(_sym(f"grid data age ({age} y)", (AGE_PER_YEAR[0] * age, AGE_PER_YEAR[1])))
    if basis == "production":
        out.append(_sym("grid production basis", PRODUCTION_BASIS))
    place = LOCATION.get(location_source)
    if place is not None:
        out.append(_sym(f"location ({location_source})", place))
    return out


def pue_factor(pue: float) -> Factor:
    """PUE 1.0 is the default (no overhead assumed): one-sided; any other value was given."""
    if pue == 1.0:
        return Factor("pue assumed 1.0", "pue", 0.0, PUE_ASSUMED_HIGH[0], PUE_ASSUMED_HIGH[1])
    return _sym(f"pue given {pue:g}", PUE_GIVEN, "pue")


def device_factors(records: Iterable[Record]) -> tuple[float, list[Factor]]:
    """Relative device error ``u_dev`` over ``records`` and one factor per (device, source) segment."""
    seg: dict[tuple[str, str], float] = defaultdict(float)
    for r in records:
        for dev_id, d in r.devices.items():
            seg[(dev_id, d.provenance)] += d.energy_kwh
    per_device: dict[str, float] = defaultdict(float)
    factors = []
    for (dev_id, prov), kwh in seg.items():
        m, key = measurement(prov)
        per_device[dev_id] += m * kwh
        factors.append(_sym(f"{dev_id} {base_label(prov)}", (m, key), "energy"))
    total = sum(seg.values())
    u = math.sqrt(sum(a * a for a in per_device.values())) / total if total > 0 else 0.0
    return u, factors


def _quad(*parts: float) -> float:
    return math.sqrt(sum(p * p for p in parts))


def _range(value: float, r_low: float, r_high: float) -> Range:
    return Range(value, max(0.0, value * (1.0 - r_low)), value * (1.0 + r_high))


def estimate(records: Sequence[Record], *, energy_kwh: float, co2_kg: float, cost: float | None,
             basis: str) -> Uncertainty:
    """Ranges of a total whose device shares, provenance and grid labels come from ``records``."""
    last = records[-1]
    u_dev, dev = device_factors(records)
    pue = pue_factor(last.pue)
    grid = grid_factors(last.intensity_source, last.location_source, basis, last.end_time)
    g_low, g_high = _quad(*(f.low for f in grid)), _quad(*(f.high for f in grid))
    fac = (_quad(u_dev, pue.low), _quad(u_dev, pue.high))
    co2 = (_quad(u_dev, pue.low, g_low), _quad(u_dev, pue.high, g_high))
    return Uncertainty(
        energy_kwh=_range(energy_kwh, u_dev, u_dev),
        facility_energy_kwh=_range(energy_kwh * last.pue, *fac),
        co2_kg=_range(co2_kg, *co2),
        cost=None if cost is None else _range(cost, *fac),
        relative={"energy": (u_dev, u_dev), "facility": fac, "co2": co2},
        factors=(*dev, pue, *grid),
    )


def zone_basis(zone: str) -> str:
    """The basis label of a zone of the embedded dataset ('' when the zone is not in it)."""
    from greenops_tb.grid.dataset import load

    z = load().zones.get(zone)
    return z.basis if z is not None else ""


def run_uncertainty(records: Sequence[Record]) -> tuple[Uncertainty, dict[str, Uncertainty]]:
    """Ranges of a run's totals (every joule once) and of each stage's, from its records (emission order)."""
    if not records:
        raise UsageError("no records: nothing to put a range on")
    last = records[-1]
    basis = zone_basis(last.location)
    stages = {
        s: estimate(rs, energy_kwh=rs[-1].stage_energy_kwh, co2_kg=rs[-1].stage_co2_kg, cost=rs[-1].stage_cost,
                    basis=basis)
        for s, rs in by_stage(records).items()
    }
    run = estimate(records, energy_kwh=last.run_energy_kwh, co2_kg=last.run_co2_kg, cost=last.run_cost, basis=basis)
    return run, stages


def _range_json(r: Range | None) -> dict[str, float] | None:
    return None if r is None else asdict(r)


def _ranges(u: Uncertainty) -> dict[str, dict[str, float] | None]:
    return {"energy_kwh": _range_json(u.energy_kwh), "facility_energy_kwh": _range_json(u.facility_energy_kwh),
            "co2_kg": _range_json(u.co2_kg), "cost": _range_json(u.cost)}


def factors_json(u: Uncertainty) -> list[dict[str, object]]:
    """The factors of a range as JSON, each with its citation."""
    return [{"name": f.name, "applies_to": f.applies_to, "low": f.low, "high": f.high, "source": f.source,
             "citation": f.citation} for f in u.factors]


def ranges_json(records: Sequence[Record]) -> dict[str, object]:
    """The ranges of a run and its stages as JSON (``{value, low, high}`` each), the factors and the rule."""
    run, stages = run_uncertainty(records)
    return {
        "totals": _ranges(run),
        "stages": {s: _ranges(u) for s, u in stages.items()},
        "factors": factors_json(run),
        "rule": run.rule,
    }
