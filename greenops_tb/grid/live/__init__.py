"""Opt-in live grid providers (need a network); every failure falls back to the embedded value.

``live="electricitymaps"``: options ``token`` (or env ``ELECTRICITYMAPS_TOKEN``), ``zone`` (default: the
resolved zone), ``breakdown`` (fetch the mix, default True). ``live="uk-carbon-intensity"`` (Great Britain
only): options ``regionid`` (1..17) or ``postcode``. Both: ``base_url``, ``timeout_s`` (default 5),
``refresh_s`` (default 300; the value is cached in between).
"""
from __future__ import annotations

from typing import Any, Mapping

from greenops_tb.errors import UsageError
from greenops_tb.grid.live.base import DEFAULT_REFRESH_S, LiveGrid, LiveGridWarning
from greenops_tb.grid.live.electricitymaps import AUTH_HINT, TOKEN_ENV, ElectricityMaps
from greenops_tb.grid.live.electricitymaps import BASE_URL as EM_BASE_URL
from greenops_tb.grid.live.uk import BASE_URL as UK_BASE_URL
from greenops_tb.grid.live.uk import UKCarbonIntensity
from greenops_tb.grid.static import StaticGrid

__all__ = ["LiveGrid", "LiveGridWarning", "PROVIDERS", "make_live_grid"]

PROVIDERS = ("electricitymaps", "uk-carbon-intensity")
_COMMON = {"base_url", "timeout_s", "refresh_s"}
_OPTIONS = {"electricitymaps": _COMMON | {"token", "zone", "breakdown"},
            "uk-carbon-intensity": _COMMON | {"regionid", "postcode"}}


def make_live_grid(name: str, static: StaticGrid, options: dict[str, Any], env: Mapping[str, str]) -> LiveGrid:
    """A live grid for provider ``name`` on top of the embedded ``static`` grid (its fallback)."""
    key = name.strip().lower()
    if key not in PROVIDERS:
        raise UsageError(f"live={name!r} is not a known provider; use one of {', '.join(PROVIDERS)} or leave it unset")
    unknown = set(options) - _OPTIONS[key]
    if unknown:
        raise UsageError(f"live_options {sorted(unknown)} are not understood by {key}; "
                         f"allowed: {sorted(_OPTIONS[key])}")
    timeout_s = float(options.get("timeout_s", 5.0))
    refresh_s = float(options.get("refresh_s", DEFAULT_REFRESH_S))
    zone = static.profile.zone
    if key == "electricitymaps":
        token = options.get("token") or next((env[k] for k in TOKEN_ENV if env.get(k)), None)
        if not token:
            raise UsageError("live='electricitymaps' needs an API token: pass live_options={'token': ...} or set "
                             "ELECTRICITYMAPS_TOKEN (free tier at electricitymaps.com)")
        zone = options.get("zone") or zone
        if zone == "WORLD":
            raise UsageError("live='electricitymaps' needs a location: pass country=/region=/cloud= or "
                             "live_options={'zone': ...}")
        provider = ElectricityMaps(zone, str(token), base_url=options.get("base_url", EM_BASE_URL),
                                   timeout_s=timeout_s, breakdown=bool(options.get("breakdown", True)))
        return LiveGrid(static, provider.fetch, key, refresh_s=refresh_s, auth_hint=AUTH_HINT)
    if zone != "GB":
        raise UsageError(f"live='uk-carbon-intensity' covers Great Britain only, but the location is {zone}; "
                         "pass country='GB' or choose another provider")
    uk = UKCarbonIntensity(regionid=options.get("regionid"), postcode=options.get("postcode"),
                           base_url=options.get("base_url", UK_BASE_URL), timeout_s=timeout_s)
    return LiveGrid(static, uk.fetch, key, refresh_s=refresh_s)
