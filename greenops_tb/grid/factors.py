"""Per-source lifecycle emission factors and the split of a CO2 amount over a zone's generation mix.

Factors: IPCC AR5 WG3 Annex III lifecycle medians (Schloemer et al. 2014, Table A.III.2) as published by
Our World in Data: coal 820, gas 490, biomass 230, geothermal 38 (our ``other_renewable``), hydro 24,
nuclear 12, wind 12, solar 48 gCO2eq/kWh; oil 611 is OWID's derivation (833 x 73300/98300), not IPCC's.
"""
from __future__ import annotations

from typing import Mapping

from greenops_tb.errors import DataError
from greenops_tb.grid.dataset import load


def lifecycle_factors() -> dict[str, float]:
    """Source -> gCO2eq/kWh (IPCC AR5 medians), keys from :data:`greenops_tb.format.schema.SOURCES`."""
    return dict(load().factors)


def split_co2_by_source(co2_kg: float, mix: Mapping[str, float],
                        factors: Mapping[str, float] | None = None) -> dict[str, float]:
    """Attribute ``co2_kg`` to sources in proportion to share x lifecycle factor.

    The parts are scaled so they sum to ``co2_kg`` (the zone's own intensity stays authoritative; the
    factors only decide the proportions). Empty mix -> {} (no split known).
    """
    f = lifecycle_factors() if factors is None else factors
    missing = [s for s, share in mix.items() if share > 0 and s not in f]
    if missing:
        raise DataError(f"no emission factor for sources {missing}; known: {sorted(f)}")
    weights = {s: share * f[s] for s, share in mix.items() if share > 0}
    total = sum(weights.values())
    if total <= 0:
        return {}
    return {s: co2_kg * w / total for s, w in weights.items()}
