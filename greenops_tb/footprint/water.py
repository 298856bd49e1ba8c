"""Water behind the electricity, in litres, two parts reported separately.

* **on-site** (the data centre's cooling): IT energy x WUE. WUE is defined by The Green Grid as site
  water over IT equipment energy (L/kWh), which is how the providers publish it, so it multiplies IT
  energy (before PUE). WUE comes from ``wue=``, else the provider's published figure for the cloud
  region (fleet-wide where that is all they publish, labelled so), else it is unknown (None, not 0).
* **off-site** (the power plants): the facility energy's generation mix x each source's operational
  water consumption factor (Macknick et al. 2012, medians), i.e. ``sum(mix_kwh[s] x factor[s])``.
  Unknown (None) where the grid has no mix.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from greenops_tb.errors import UsageError
from greenops_tb.footprint.tables import water_table

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WueChoice:
    """The WUE applied to a run and where it came from."""

    l_per_kwh: float | None  # None: unknown
    label: str  # "argument", "<provider>-<region|fleet>-<year>", "unknown"
    source: str


def check_wue(wue: object) -> float | None:
    """``wue=`` validated: None or a number of litres per kWh >= 0."""
    if wue is None:
        return None
    if isinstance(wue, bool) or not isinstance(wue, (int, float)) or not wue >= 0:
        raise UsageError(f"wue must be litres of site water per kWh of IT energy, a number >= 0 "
                         f"(hyperscale clouds publish 0.1-0.5; evaporative cooling in hot climates 1-2), got {wue!r}")
    return float(wue)


def resolve_wue(wue: float | None, cloud: str = "") -> WueChoice:
    """``wue=`` wins; else the published WUE of the cloud region (``provider:region``); else unknown."""
    if wue is not None:
        return WueChoice(check_wue(wue), "argument", "wue= argument")
    provider, _, region = cloud.partition(":")
    published = water_table().wue.get(provider, {})
    for key, scope in ((region, region), ("*", "fleet")):
        w = published.get(key) if key else None
        if w is not None:
            return WueChoice(w.l_per_kwh, f"{provider}-{scope}-{w.year}",
                             f"{w.scope}; {w.source}; confidence {w.confidence}")
    why = (f"{provider} publishes no WUE in the embedded table" if provider else "not a cloud region with a published WUE")
    return WueChoice(None, UNKNOWN, f"{why}; pass wue=<L/kWh> to set it")


def onsite_water_l(it_kwh: float, wue: WueChoice) -> float | None:
    """Litres of site water for ``it_kwh`` of IT energy; None when the WUE is unknown."""
    return None if wue.l_per_kwh is None else it_kwh * wue.l_per_kwh


def offsite_water_by_source(mix_kwh: Mapping[str, float]) -> dict[str, float]:
    """Litres consumed at the power plants per grid source for this facility energy per source (every
    ``records.SOURCES`` name has a factor; a key that is not one of them is left out, never a crash)."""
    factors = water_table().offsite
    return {s: kwh * factors[s].l_per_kwh for s, kwh in mix_kwh.items() if s in factors}


def offsite_water_l(mix_kwh: Mapping[str, float]) -> float | None:
    """Total off-site litres, ``sum(mix_kwh[s] x factor[s])``; None for an unknown (empty) mix."""
    return sum(offsite_water_by_source(mix_kwh).values()) if mix_kwh else None

