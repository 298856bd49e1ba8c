"""Units and the quantities derived from them, defined once for the whole package.

The TypeScript frontend mirrors :func:`avg_power_w` in ``frontend/src``.
"""
from __future__ import annotations

#: joules in one kilowatt-hour
J_PER_KWH = 3.6e6
#: grams in one kilogram (carbon intensities are g/kWh, CO2 totals kg)
G_PER_KG = 1000.0


def kwh(joules: float) -> float:
    """Joules as kilowatt-hours."""
    return joules / J_PER_KWH


def avg_power_w(energy_kwh: float, duration_s: float) -> float:
    """Mean power in W of ``energy_kwh`` spent over ``duration_s`` (0.0 for a zero-length interval)."""
    return energy_kwh * J_PER_KWH / duration_s if duration_s > 0 else 0.0


def co2_kg(facility_energy_kwh: float, carbon_intensity_g_per_kwh: float) -> float:
    """kg CO2-equivalent of facility energy at a grid's carbon intensity."""
    return facility_energy_kwh * carbon_intensity_g_per_kwh / G_PER_KG
