"""The rest of the footprint: embodied emissions of the hardware and the water behind the electricity.

Reported BESIDE operational CO2e, never added into it. :class:`Footprint` is built once per run from the
measured devices, ``embodied_options=``, ``wue=`` and the cloud region; :meth:`Footprint.interval` turns
one interval (its duration, IT energy and facility energy per grid source) into
:class:`IntervalFootprint`; :class:`FootprintTotals` keeps running totals. Method and sources:
:mod:`greenops_tb.footprint.embodied`, :mod:`greenops_tb.footprint.water`, ``data/PROVENANCE.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from greenops_tb.footprint.embodied import (
    EmbodiedOptions,
    EmbodiedPart,
    amortised_kg,
    embodied_parts,
)
from greenops_tb.footprint.tables import water_table
from greenops_tb.footprint.water import (
    WueChoice,
    offsite_water_l,
    onsite_water_l,
    resolve_wue,
)

__all__ = ["NO_FOOTPRINT", "EmbodiedOptions", "EmbodiedPart", "Footprint", "FootprintTotals", "IntervalFootprint", "WueChoice",
           "amortised_kg", "offsite_water_l", "onsite_water_l", "resolve_wue"]


@dataclass(frozen=True, slots=True)
class IntervalFootprint:
    """Embodied kgCO2e (per part and in all) and litres of water of one interval; None = unknown."""

    embodied_kg: float | None
    embodied_kg_by_device: dict[str, float]  # known parts only ("gpu:0", "host")
    water_onsite_l: float | None
    water_offsite_l: float | None


#: an interval's embodied emissions by part when no part's are known (shared: read, never changed)
_NONE_KNOWN: dict[str, float] = {}
NO_FOOTPRINT = IntervalFootprint(None, _NONE_KNOWN, None, None)


@dataclass(slots=True)
class FootprintTotals:
    """Running totals of a stage or of the run."""

    embodied_kg: float | None = None
    water_onsite_l: float | None = None
    water_offsite_l: float | None = None
    embodied_kg_by_device: dict[str, float] = field(default_factory=dict)

    def add(self, f: IntervalFootprint) -> None:
        """Add one interval: a total stays None (unknown) until a known value is added."""
        if f.embodied_kg is not None:
            self.embodied_kg = f.embodied_kg if self.embodied_kg is None else self.embodied_kg + f.embodied_kg
            by = self.embodied_kg_by_device
            for k, v in f.embodied_kg_by_device.items():
                by[k] = by.get(k, 0.0) + v
        if f.water_onsite_l is not None:
            self.water_onsite_l = f.water_onsite_l if self.water_onsite_l is None else self.water_onsite_l + f.water_onsite_l
        if f.water_offsite_l is not None:
            self.water_offsite_l = f.water_offsite_l if self.water_offsite_l is None \
                else self.water_offsite_l + f.water_offsite_l


class Footprint:
    """Embodied and water figures of one run (devices, options and WUE fixed at construction)."""

    def __init__(self, devices: Iterable[Any], *, embodied_options: Mapping[str, Any] | EmbodiedOptions | None = None,
                 wue: float | None = None, cloud: str = "") -> None:
        self.options = embodied_options if isinstance(embodied_options, EmbodiedOptions) \
            else EmbodiedOptions.of(embodied_options)
        self.parts = embodied_parts(devices, self.options)
        self.wue = resolve_wue(wue, cloud)
        busy_hours = self.options.busy_hours()
        #: kgCO2e per second of occupancy, per known part
        self._rates = {p.id: amortised_kg(p.kgco2e, 1.0, busy_hours) / 3600.0 for p in self.parts if p.kgco2e is not None}
        self._rate = sum(self._rates.values())
        self._shares: Mapping[str, float] | None = None
        self._l_per_kwh: float | None = None  # off-site litres per facility kWh at self._shares

    def interval(self, duration_s: float, it_kwh: float, mix_kwh: Mapping[str, float]) -> IntervalFootprint:
        """The footprint of one interval: ``mix_kwh`` is its facility energy per grid source."""
        return self._make(duration_s, it_kwh, offsite_water_l(mix_kwh))

    def interval_at(self, duration_s: float, it_kwh: float, facility_kwh: float,
                    shares: Mapping[str, float]) -> IntervalFootprint:
        """:meth:`interval` for ``mix_kwh = facility_kwh x shares`` (the stage hot path: the shares'
        weighted factor is computed once per shares object)."""
        if shares is not self._shares:
            self._shares, self._l_per_kwh = shares, offsite_water_l(shares)
        return self._make(duration_s, it_kwh, None if self._l_per_kwh is None else facility_kwh * self._l_per_kwh)

    def _make(self, duration_s: float, it_kwh: float, offsite_l: float | None) -> IntervalFootprint:
        if not self._rates:  # no part's embodied emissions known
            return IntervalFootprint(None, _NONE_KNOWN, onsite_water_l(it_kwh, self.wue), offsite_l)
        return IntervalFootprint(self._rate * duration_s, {k: r * duration_s for k, r in self._rates.items()},
                                 onsite_water_l(it_kwh, self.wue), offsite_l)

    def metadata(self) -> dict[str, Any]:
        """What the run metadata records: every part and factor with its label and source."""
        o = self.options
        return {
            "embodied": {
                "parts": {p.id: p.to_json() for p in self.parts},
                "lifetime_years": o.lifetime(), "utilisation": o.busy(),
                "method": "device-hours x kgCO2e / (lifetime hours x utilisation); beside operational CO2e, "
                          "never added into it",
            },
            "water": {
                "wue_l_per_kwh": self.wue.l_per_kwh, "wue_label": self.wue.label, "wue_source": self.wue.source,
                "onsite_method": "IT energy x WUE",
                "offsite_method": "facility energy per grid source x water consumption factor",
                "offsite_factors_l_per_kwh": {s: f.l_per_kwh for s, f in water_table().offsite.items()},
                "offsite_source": water_table().offsite_source,
            },
        }
