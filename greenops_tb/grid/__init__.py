"""Grid data: carbon intensity, generation mix and price of the place where training runs.

``resolve_grid(...)`` picks the location by the precedence documented in :mod:`greenops_tb.grid.location`,
looks it up in the embedded dataset (:mod:`greenops_tb.grid.dataset`; provenance in
``grid/data/PROVENANCE.md``) and returns a :class:`~greenops_tb.grid.types.Grid`.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Mapping

from greenops_tb.grid import location as loc
from greenops_tb.grid.dataset import WORLD, Dataset, Zone, load
from greenops_tb.grid.factors import lifecycle_factors, split_co2_by_source
from greenops_tb.grid.lookup import LocationError, find_cloud, find_country, find_region
from greenops_tb.grid.price import resolve_price
from greenops_tb.grid.static import StaticGrid
from greenops_tb.grid.types import Grid, GridProfile, Intensity

__all__ = [
    "Grid", "GridProfile", "Intensity", "LocationError", "GridLocationWarning", "resolve_grid", "load",
    "lifecycle_factors", "split_co2_by_source",
]

WORLD_WARNING = (
    "greenops_tb: no location given, using the world-average grid intensity. Set it with "
    "GreenSummaryWriter(country='DE') / region= / cloud=, or the GREENOPS_COUNTRY environment variable."
)


class GridLocationWarning(UserWarning):
    """The location was not given (world average used) or a hint could not be used."""


def _zone_of(ds: Dataset, choice: loc.Choice) -> Zone:
    if choice.kind == "country":
        return find_country(ds, choice.text)
    if choice.kind == "cloud":
        return find_cloud(ds, choice.text)[0]
    return find_region(ds, choice.text)


def _cloud_key(ds: Dataset, choice: loc.Choice | None) -> str:
    """The normalised ``provider:region`` when the winning choice was a cloud region, else ""."""
    return find_cloud(ds, choice.text)[1] if choice is not None and choice.kind == "cloud" else ""


def _detected(detect_cloud: bool | str, env: Mapping[str, str]) -> loc.Choice | None:
    if not detect_cloud:
        return None
    from greenops_tb.grid.metadata import detect_cloud_region  # opt-in: keeps urllib out of plain imports

    base = detect_cloud if isinstance(detect_cloud, str) else env.get("GREENOPS_METADATA_URL")
    found = detect_cloud_region(base)
    return loc.Choice("cloud", found, "cloud-metadata") if found else None


def _from_timezone(ds: Dataset, env: Mapping[str, str]) -> loc.Choice | None:
    tz = loc.timezone_name(env)
    country = loc.timezone_country(tz) if tz else None
    if country and country in ds.zones:
        return loc.Choice("country", country, "timezone")
    return None


def _choose(ds: Dataset, args: Mapping[str, Any], config: Mapping[str, Any], detect_cloud: bool | str,
            use_timezone: bool, env: Mapping[str, str]) -> tuple[Zone, str, str]:
    """Walk the precedence levels; return the zone, the label of the level that won and the cloud region
    (``provider:region``, "" when the winner was not one)."""
    for choice in (loc.from_values(args, "argument"), loc.from_env(env), loc.from_values(config, "config")):
        if choice is not None:
            return _zone_of(ds, choice), choice.source, _cloud_key(ds, choice)
    detected = _detected(detect_cloud, env)
    if detected is not None:
        try:
            return _zone_of(ds, detected), detected.source, _cloud_key(ds, detected)
        except LocationError as e:
            warnings.warn(f"greenops_tb: cloud metadata said {detected.text!r}, which is not in the dataset ({e})",
                          GridLocationWarning, stacklevel=4)
    hint = _from_timezone(ds, env) if use_timezone else None
    if hint is not None:
        return ds.zones[hint.text], hint.source, ""
    warnings.warn(WORLD_WARNING, GridLocationWarning, stacklevel=4)
    return ds.zones[WORLD], "world-average", ""


def resolve_grid(
    country: str | None = None,
    region: str | None = None,
    cloud: str | None = None,
    *,
    price_per_kwh: float | None = None,
    currency: str | None = None,
    live: str | None = None,
    live_options: Mapping[str, Any] | None = None,
    detect_cloud: bool | str = False,
    use_timezone: bool = True,
    config_path: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
) -> Grid:
    """The grid of the training location; see :mod:`greenops_tb.grid.location` for the precedence.

    ``detect_cloud`` may be a base URL instead of ``True`` (for tests / proxies). ``env`` replaces
    ``os.environ`` (tests). Raises :class:`LocationError` for an unknown place, ``ValueError`` for a bad price.
    """
    env = os.environ if env is None else env
    ds = load()
    config = loc.read_config(loc.config_file(config_path, env))
    zone, source, cloud_key = _choose(ds, {"country": country, "region": region, "cloud": cloud}, config, detect_cloud,
                           use_timezone, env)
    price_label = "argument"
    price_given: float | str | None = price_per_kwh  # text from the environment or config, checked by resolve_price
    if price_per_kwh is None and currency is None:
        for label, values in (("env", {"price_per_kwh": env.get("GREENOPS_PRICE_PER_KWH"),
                                       "currency": env.get("GREENOPS_CURRENCY")}), ("config", config)):
            if values.get("price_per_kwh") not in (None, "") or values.get("currency"):
                price_given, currency, price_label = values.get("price_per_kwh"), values.get("currency"), label
                break
    price, cur, price_source = resolve_price(ds, zone, price_given, currency, price_label)
    profile = GridProfile(
        zone=zone.key, name=zone.name, location_source=source,
        carbon_intensity_g_per_kwh=zone.carbon_intensity_g_per_kwh, intensity_source=zone.intensity_source,
        mix=dict(zone.mix), mix_source=zone.mix_source, price_per_kwh=price, currency=cur,
        price_source=price_source, dataset={**ds.provenance(zone), "basis": zone.basis}, cloud=cloud_key,
    )
    static = StaticGrid(profile)
    live = live if live is not None else (env.get("GREENOPS_LIVE") or config.get("live"))
    if not live:
        return static
    from greenops_tb.grid.live import make_live_grid  # only when asked: keeps plain imports light

    return make_live_grid(str(live), static, dict(live_options or {}), env)
