"""The grid of a fixed location: the embedded dataset's yearly value."""
from __future__ import annotations

from greenops_tb.grid.types import GridProfile, Intensity


class StaticGrid:
    """A :class:`~greenops_tb.grid.types.Grid` whose intensity never changes."""

    def __init__(self, profile: GridProfile):
        self.profile = profile
        self._intensity = Intensity(profile.carbon_intensity_g_per_kwh, profile.mix, profile.intensity_source)

    def current(self) -> Intensity:
        return self._intensity

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        p = self.profile
        return f"StaticGrid({p.zone!r}, {p.carbon_intensity_g_per_kwh} g/kWh, {p.intensity_source})"
