"""Electricity Maps API v3: ``/carbon-intensity/latest`` and ``/power-breakdown/latest`` (``auth-token`` header).

Values are Electricity Maps' defaults: lifecycle, consumption-based (flow-traced); the mix is the
``powerConsumptionBreakdown``.
"""
from __future__ import annotations

import urllib.parse
from typing import Any, Mapping

from greenops_tb.grid.live.http import get_json
from greenops_tb.grid.live.mix import intensity, shares
from greenops_tb.grid.types import Intensity

BASE_URL = "https://api.electricitymaps.com/v3"
TOKEN_ENV = ("ELECTRICITYMAPS_TOKEN", "GREENOPS_ELECTRICITYMAPS_TOKEN")
AUTH_HINT = "Check live_options={'token': ...} or the ELECTRICITYMAPS_TOKEN environment variable."


class ElectricityMaps:
    """One fetch = latest carbon intensity (+ power breakdown for the mix) of one zone."""

    def __init__(self, zone: str, token: str, *, base_url: str = BASE_URL, timeout_s: float = 5.0,
                 breakdown: bool = True):
        self.zone = zone
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.breakdown = breakdown
        self._headers = {"auth-token": token}

    def _get(self, path: str) -> Mapping[str, Any]:
        url = f"{self.base_url}/{path}?{urllib.parse.urlencode({'zone': self.zone})}"
        return get_json(url, self._headers, self.timeout_s)

    def fetch(self) -> Intensity:
        ci = self._get("carbon-intensity/latest")
        value = intensity(ci["carbonIntensity"])
        mix: dict[str, float] = {}
        if self.breakdown:
            pb = self._get("power-breakdown/latest")
            mix = shares(pb.get("powerConsumptionBreakdown"))
        return Intensity(value, mix, f"electricitymaps-live {ci.get('datetime', '')}".strip())
