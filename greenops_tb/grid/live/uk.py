"""UK Carbon Intensity API (NESO; no key): national ``/intensity`` + ``/generation``, or regional
``/regional/regionid/{id}`` / ``/regional/postcode/{outward code}`` with the region's mix.

Fuels ``imports`` and ``other`` have no source of their own and are left out of the mix shares.
"""
from __future__ import annotations

import urllib.parse
from typing import Any, Mapping

from greenops_tb.errors import UsageError
from greenops_tb.grid.live.http import LiveError, get_json
from greenops_tb.grid.live.mix import intensity, shares
from greenops_tb.grid.types import Intensity

BASE_URL = "https://api.carbonintensity.org.uk"


def _value(period: Mapping[str, Any]) -> float:
    """The measured value where published, else the forecast."""
    v = period.get("actual")
    return intensity(period["forecast"] if v is None else v)


def _mix(generationmix: list[Mapping[str, Any]]) -> dict[str, float]:
    if not isinstance(generationmix, list):
        raise LiveError(f"generationmix is a {type(generationmix).__name__}, not a list")
    return shares({g["fuel"]: g["perc"] for g in generationmix})


class UKCarbonIntensity:
    """One fetch = the current half-hour's intensity and mix (national, or one region)."""

    def __init__(self, *, regionid: int | None = None, postcode: str | None = None, base_url: str = BASE_URL,
                 timeout_s: float = 5.0):
        if regionid is not None and not 1 <= int(regionid) <= 17:
            raise UsageError(f"regionid={regionid!r}: UK Carbon Intensity regions are 1..17")
        self.regionid = None if regionid is None else int(regionid)
        self.postcode = postcode.strip().upper() if postcode else None
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _get(self, path: str) -> Any:
        return get_json(f"{self.base_url}/{path}", None, self.timeout_s)

    def fetch(self) -> Intensity:
        if self.regionid is None and self.postcode is None:
            period = self._get("intensity")["data"][0]
            mix = _mix(self._get("generation")["data"]["generationmix"])
            return Intensity(_value(period["intensity"]), mix, f"uk-carbon-intensity-live {period['from']}")
        path = (f"regional/regionid/{self.regionid}" if self.regionid is not None
                else f"regional/postcode/{urllib.parse.quote(self.postcode or '')}")
        region = self._get(path)["data"][0]
        period = region["data"][0]
        return Intensity(_value(period["intensity"]), _mix(period["generationmix"]),
                         f"uk-carbon-intensity-live {region.get('shortname', '')} {period['from']}".replace("  ", " "))
