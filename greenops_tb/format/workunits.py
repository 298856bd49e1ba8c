"""Work units: energy and CO2e per sample and per token (and per step when nothing was counted).

Counts come from ``update(name, samples=N, tokens=M)``, ``stop(...)`` and ``writer.count(...)``; records carry
the interval's counts and the stage's running totals (``stage_samples``, ``stage_tokens``). Derived, from a
stage's running totals:

* ``j_per_<unit>``: IT energy (at the devices, before PUE) in joules per unit;
* ``g_per_<unit>``: CO2e in grams per unit (CO2e includes the PUE, as every CO2e figure does);
* ``<unit>s_per_kwh``: units per kWh of IT energy;
* ``kj_per_1k_<unit>s`` / ``g_per_1k_<unit>s``: the same per 1,000 units, for readability.

A count of 0 gives ``None`` (unknown), never a division by zero.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Mapping

from greenops_tb import display
from greenops_tb.errors import UsageError
from greenops_tb.format.units import J_PER_KWH

UNITS = ("sample", "token")


def check_count(value: object, what: str) -> int:
    """``value`` as a count of work units (None -> 0); ValueError saying what is allowed otherwise."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise UsageError(f"{what} must be a whole number >= 0 (e.g. the batch size), got {value!r}")
    return int(value)


def j_per(energy_kwh: float, count: float) -> float | None:
    """Joules of ``energy_kwh`` per unit; None when nothing was counted."""
    return energy_kwh * J_PER_KWH / count if count > 0 else None


def g_per(co2_kg: float, count: float) -> float | None:
    """Grams CO2e per unit; None when nothing was counted."""
    return co2_kg * 1000.0 / count if count > 0 else None


#: A record's running rates per unit (its properties, and curves on the Scalars tab): name -> (the rate, of the
#: running total field, per the count field), e.g. the stage's IT energy so far per sample counted so far, in J.
RATES: dict[str, tuple[Callable[[float, float], float | None], str, str]] = {
    "stage_j_per_sample": (j_per, "stage_energy_kwh", "stage_samples"),
    "stage_g_per_sample": (g_per, "stage_co2_kg", "stage_samples"),
    "stage_j_per_token": (j_per, "stage_energy_kwh", "stage_tokens"),
    "stage_g_per_token": (g_per, "stage_co2_kg", "stage_tokens"),
}


@dataclass(frozen=True, slots=True)
class Efficiency:
    """One stage's (or run's) energy and CO2e per unit of work."""

    stage: str
    unit: str  # "sample" | "token" | "step"
    count: float
    energy_kwh: float
    co2_kg: float
    j_per_unit: float | None
    g_per_unit: float | None
    units_per_kwh: float | None
    #: properties its JSON adds to the fields
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("kj_per_1k", "g_per_1k")

    @property
    def kj_per_1k(self) -> float | None:
        """kJ per 1,000 units (numerically equal to J per unit)."""
        return self.j_per_unit

    @property
    def g_per_1k(self) -> float | None:
        """Grams CO2e per 1,000 units."""
        return None if self.g_per_unit is None else self.g_per_unit * 1000.0

    def to_json(self) -> dict[str, Any]:
        """The fields, then :attr:`JSON_PROPERTIES` (the contract's ``Efficiency``)."""
        return {k: getattr(self, k) for k in (*EFFICIENCY_FIELDS, *self.JSON_PROPERTIES)}

    def text(self) -> str:
        """``12.30 J and 4.100 mg CO2e per sample (81.20 k samples/kWh)`` (greenops_tb.display)."""
        if self.j_per_unit is None or self.g_per_unit is None or self.units_per_kwh is None:
            return f"no {self.unit}s counted"
        return (f"{display.format_joules(self.j_per_unit)} and {display.format_co2(self.g_per_unit / 1000)} per "
                f"{self.unit} ({display.format_count(self.units_per_kwh, self.unit + 's/kWh')})")


EFFICIENCY_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Efficiency))


def efficiency(stage: str, energy_kwh: float, co2_kg: float, count: float, unit: str) -> Efficiency:
    """The efficiency of ``count`` units of work that took ``energy_kwh`` and emitted ``co2_kg``."""
    return Efficiency(stage, unit, count, energy_kwh, co2_kg, j_per(energy_kwh, count), g_per(co2_kg, count),
                      count / energy_kwh if count > 0 and energy_kwh > 0 else None)


def stage_efficiency(stage: str, energy_kwh: float, co2_kg: float, counts: Mapping[str, float],
                     steps: int | None) -> dict[str, Efficiency]:
    """Per counted unit (``samples``/``tokens`` > 0); per step when neither was counted and ``steps`` is known."""
    out = {u: efficiency(stage, energy_kwh, co2_kg, counts.get(u + "s", 0), u) for u in UNITS
           if counts.get(u + "s", 0) > 0}
    if not out and steps:
        out["step"] = efficiency(stage, energy_kwh, co2_kg, steps, "step")
    return out


def relative_change(a: float | None, b: float | None) -> float | None:
    """``b / a - 1``: -0.37 means b uses 37 % less per unit than a; None when either is unknown."""
    return None if a is None or b is None or a == 0 else b / a - 1.0


def comparison_text(unit: str, labels: Iterable[str], values: Iterable[float | None]) -> list[str]:
    """``run B: 37% less energy per sample than run A`` for each run after the first."""
    labels, values = list(labels), list(values)
    out = []
    for lab, v in zip(labels[1:], values[1:]):
        ch = relative_change(values[0], v)
        if ch == 0:
            out.append(f"{lab}: the same energy per {unit} as {labels[0]}")
        elif ch is not None:
            word = "less" if ch < 0 else "more"
            out.append(f"{lab}: {display.format_share(abs(ch))} {word} energy per {unit} than {labels[0]}")
    return out
