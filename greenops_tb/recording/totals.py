"""The run's numbers as a value object (:class:`RunTotals`) and as text (``str(writer)``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from greenops_tb.display import format_co2, format_cost, format_duration, format_energy, sig
from greenops_tb.format.schema import DEVICE_KINDS, SOURCES
from greenops_tb.format.units import avg_power_w


@dataclass(frozen=True, slots=True)
class StageTotals:
    """Running totals of one stage, or of the whole run (``stage == "total"``, every joule once)."""

    stage: str
    records: int
    duration_s: float
    energy_kwh: float  # IT energy, before PUE
    energy_kwh_by_kind: Mapping[str, float]  # "gpu" | "cpu" | "ram" -> kWh
    facility_energy_kwh: float  # energy_kwh x PUE
    co2_kg: float
    cost: float | None  # None when no price is known
    mix_kwh: Mapping[str, float]  # facility energy per grid source
    samples: int = 0  # work units counted (0 for the run's "total")
    tokens: int = 0
    # footprint, beside the CO2 (never in it); None = unknown (see greenops_tb.footprint)
    embodied_kg: float | None = None
    water_onsite_l: float | None = None
    water_offsite_l: float | None = None
    embodied_kg_by_device: Mapping[str, float] = field(default_factory=dict)

    @property
    def avg_power_w(self) -> float:
        return avg_power_w(self.energy_kwh, self.duration_s)


@dataclass(frozen=True, slots=True)
class RunTotals:
    """What ``writer.totals()`` returns: per-stage and run totals plus where the factors came from."""

    run: str
    stages: Mapping[str, StageTotals]
    total: StageTotals
    location: str
    location_name: str
    location_source: str
    carbon_intensity_g_per_kwh: float
    intensity_source: str
    mix_shares: Mapping[str, float]
    mix_source: str
    pue: float
    currency: str
    price_per_kwh: float | None
    price_source: str
    devices: Mapping[str, str] = field(default_factory=dict)  # device id -> provenance
    footprint: Mapping[str, Any] = field(default_factory=dict)  # Footprint.metadata(): parts, WUE, factors


def footprint_text(t: RunTotals) -> list[str]:
    """Embodied CO2e and water lines (beside the CO2 above, never in it)."""
    from greenops_tb.footprint.view import footprint_lines

    embodied = t.footprint.get("embodied", {})
    water = t.footprint.get("water", {})
    parts = embodied.get("parts", {})
    return footprint_lines({
        "embodied_kg": t.total.embodied_kg, "water_onsite_l": t.total.water_onsite_l,
        "water_offsite_l": t.total.water_offsite_l,
        "embodied_parts": [{"part": k, "embodied_kg": t.total.embodied_kg_by_device.get(k), "label": p["label"]}
                           for k, p in parts.items()],
        "lifetime_years": embodied.get("lifetime_years"), "utilisation": embodied.get("utilisation"),
        "wue_l_per_kwh": water.get("wue_l_per_kwh"), "wue_label": water.get("wue_label", "unknown"),
    })


def format_summary(t: RunTotals) -> str:
    """Readable text: per-stage duration, energy, CO2, cost, then the location's mix with provenance."""
    rows = [(s.stage, s) for s in t.stages.values()] + [("total (each joule once)", t.total)]
    width = max(len(name) for name, _ in rows)
    lines = [
        f"greenops_tb run {t.run!r}: {t.location_name} ({t.location}, chosen by {t.location_source}), PUE {t.pue:g}",
        f"  {'stage':<{width}}  {'records':>7}  {'time':>10}  {'energy':>11}  {'CO2e':>15}  {'cost':>12}  by device",
    ]
    # device kinds this run measured (an unmeasured kind, e.g. no GPU, would only add zeros)
    measured = [k for k in DEVICE_KINDS if t.total.energy_kwh_by_kind.get(k, 0.0) > 0] or list(DEVICE_KINDS)
    for name, s in rows:
        kinds = ", ".join(f"{k} {format_energy(s.energy_kwh_by_kind.get(k, 0.0))}" for k in measured)
        lines.append(
            f"  {name:<{width}}  {s.records:>7}  {format_duration(s.duration_s):>10}  {format_energy(s.energy_kwh):>11}  "
            f"{format_co2(s.co2_kg):>15}  {format_cost(s.cost, t.currency):>12}  {kinds}"
        )
    lines.append(f"  carbon intensity {sig(t.carbon_intensity_g_per_kwh)} gCO2e/kWh ({t.intensity_source})")
    price = "unknown" if t.price_per_kwh is None else f"{sig(t.price_per_kwh)} {t.currency}/kWh"
    lines.append(f"  price {price} ({t.price_source})")
    if t.mix_shares:
        mix = ", ".join(
            f"{s.replace('_', ' ')} {t.mix_shares[s] * 100:.1f}%" for s in SOURCES if t.mix_shares.get(s, 0.0) > 0
        )
        lines.append(f"  grid mix ({t.mix_source}): {mix}")
    else:
        lines.append("  grid mix: not known for this location")
    lines += ["  " + line for line in footprint_text(t)]
    if t.devices:
        lines.append("  measured by: " + ", ".join(f"{d}={p}" for d, p in sorted(t.devices.items())))
    return "\n".join(lines)
