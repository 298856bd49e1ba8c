"""Check a provider's answer before it is trusted: intensity within physical bounds, mix parts numbers >= 0.

A value that fails a check raises :class:`~greenops_tb.grid.live.http.LiveError`, so the interval falls
back to the embedded value labelled ``embedded (live failed: <why>)``; nothing implausible reaches a record.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from greenops_tb.format.schema import SOURCES
from greenops_tb.grid.live.http import LiveError

#: the dirtiest real grids average ~1,000 g/kWh (lignite plants ~1,200); anything above this is not a grid
MAX_INTENSITY_G_PER_KWH = 2000.0

#: provider fuel name -> our source; names not listed (imports, unknown, storage discharge, "other")
#: carry no known source and are left out before normalising.
FUEL_NAMES: dict[str, str] = {
    "coal": "coal", "gas": "gas", "oil": "oil", "nuclear": "nuclear", "hydro": "hydro", "wind": "wind",
    "solar": "solar", "biomass": "bioenergy", "geothermal": "other_renewable",
}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise LiveError(f"{what} {value!r} is not a number")
    try:
        out = float(value)
    except ValueError:
        raise LiveError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(out):
        raise LiveError(f"{what} {value!r} is not finite")
    return out


def intensity(value: Any) -> float:
    """A carbon intensity in g/kWh, or LiveError when it is not a finite number in 0..MAX_INTENSITY_G_PER_KWH."""
    v = _number(value, "carbon intensity")
    if not 0.0 <= v <= MAX_INTENSITY_G_PER_KWH:
        raise LiveError(f"implausible carbon intensity {v:g} g/kWh (outside 0..{MAX_INTENSITY_G_PER_KWH:g})")
    return v


def shares(amounts: Any) -> dict[str, float]:
    """Provider amounts (MW or %) by fuel -> shares of SOURCES; {} when nothing is attributable.

    ``amounts`` must be a mapping (None: no mix); a counted fuel's amount must be null or a finite number >= 0
    (else LiveError: the whole mix is rejected, not quietly renormalised).
    """
    if amounts is None:
        return {}
    if not isinstance(amounts, Mapping):
        raise LiveError(f"mix is a {type(amounts).__name__}, not an object of amounts by fuel")
    parts: list[tuple[str, float]] = []
    for fuel, value in amounts.items():
        src = FUEL_NAMES.get(str(fuel).lower())
        if src is None or value is None:
            continue
        v = _number(value, f"mix part {fuel!r}")
        if v < 0:
            raise LiveError(f"mix part {fuel!r} is negative ({v:g})")
        parts.append((src, v))
    top = max((v for _, v in parts), default=0.0)
    if top <= 0:
        return {}
    out = dict.fromkeys(SOURCES, 0.0)
    for src, v in parts:
        out[src] += v / top  # relative to the largest part: summing 1e308s never overflows to inf
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}
