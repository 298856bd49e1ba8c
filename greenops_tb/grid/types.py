"""Values the grid layer hands to the writer.

``greenops_tb.grid.resolve_grid(...)`` returns a :class:`Grid`: the static
:class:`GridProfile` of the chosen location (embedded dataset) and a
``current()`` method giving the :class:`Intensity` to apply to an interval
(the static value, or a live provider's latest value with its label).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol


@dataclass(frozen=True, slots=True)
class Intensity:
    """Carbon intensity and mix applied to one interval."""

    carbon_intensity_g_per_kwh: float
    mix: Mapping[str, float]  # source -> share, keys from schema.SOURCES, sums to 1; empty if unknown
    source: str  # e.g. "ember-2024", "electricitymaps-live 2026-11-26T10:00Z", "embedded (live failed: timeout)"


@dataclass(frozen=True, slots=True)
class GridProfile:
    """A resolved location and the embedded data for it."""

    zone: str  # "DE", "US-CA", "US-CAL-CISO", "SE-SE3", "WORLD"
    name: str  # "Germany"
    location_source: str  # "argument:country", "env:GREENOPS_REGION", "config", "cloud-metadata", "timezone", "world-average"
    carbon_intensity_g_per_kwh: float
    intensity_source: str  # dataset and year, e.g. "ember-2024"
    mix: Mapping[str, float]  # source -> share (sums to 1), {} if the data has no mix for this zone
    mix_source: str  # e.g. "owid-2023", "" if no mix
    price_per_kwh: float | None  # None: unknown, cost is reported as unknown
    currency: str  # ISO 4217, "" if unknown
    price_source: str  # "argument", "eurostat nrg_pc_205 2024-S2 (non-household, excl. VAT)", "unknown"
    dataset: Mapping[str, str] = field(default_factory=dict)  # provenance of the data used (source, licence, year)
    cloud: str = ""  # "aws:eu-west-1" when the location is a cloud region, else ""


class Grid(Protocol):
    """What the writer uses: a profile and the intensity for the current interval."""

    profile: GridProfile

    def current(self) -> Intensity:
        """Cheap (called per record); live grids refresh in the background and cache."""
        ...

    def close(self) -> None:
        ...
