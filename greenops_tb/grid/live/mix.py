"""Map a provider's fuel names onto schema.SOURCES shares (summing to 1)."""
from __future__ import annotations

from typing import Mapping

from greenops_tb.schema import SOURCES

#: provider fuel name -> our source; names not listed (imports, unknown, storage discharge, "other")
#: carry no known source and are left out before normalising.
FUEL_NAMES: dict[str, str] = {
    "coal": "coal", "gas": "gas", "oil": "oil", "nuclear": "nuclear", "hydro": "hydro", "wind": "wind",
    "solar": "solar", "biomass": "bioenergy", "geothermal": "other_renewable",
}


def shares(amounts: Mapping[str, float | None]) -> dict[str, float]:
    """Provider amounts (MW or %) by fuel -> shares of SOURCES; {} when nothing is attributable."""
    out = dict.fromkeys(SOURCES, 0.0)
    for fuel, value in amounts.items():
        src = FUEL_NAMES.get(str(fuel).lower())
        if src is not None and value is not None and float(value) > 0:
            out[src] += float(value)
    total = sum(out.values())
    return {k: v / total for k, v in out.items()} if total > 0 else {}
