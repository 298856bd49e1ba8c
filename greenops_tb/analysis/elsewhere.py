"""The same run elsewhere: a finished run's energy re-priced in every zone and cloud region of the dataset.

The run's energy is taken per interval (the increments of its ``run_*`` running totals, every joule once), so
a run priced with a live intensity keeps its time profile: its own CO2e at another PUE is the recorded CO2e
of each interval scaled by ``pue / run pue``. An alternative place is priced interval by interval with
``intensity_at(zone, t)`` (default: the zone's yearly value in the embedded dataset):
``co2 = sum(dE_i * pue * intensity_at(zone, t_i)) / 1000``; cost = IT energy x PUE x the zone's price where one
is known (Eurostat, Europe only), never invented. Every alternative carries its data year and basis; a ranking
that mixes production- and consumption-based values says so in ``notes``.

Two scopes: ``"world"`` ranks every zone and cloud region; ``"choices"`` ranks the places a user can move a run
to: the cloud regions (one key per region, the dataset's spelled-out aliases left out) and the zones near this
run's (:func:`near_countries`: its own country's zones and the countries of its cloud regions' families).
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from greenops_tb.errors import UsageError
from greenops_tb.footprint.water import offsite_water_l, onsite_water_l, resolve_wue
from greenops_tb.format.schema import Record
from greenops_tb.grid.dataset import Dataset, Zone, load

IntensityAt = Callable[[Zone, float], float]
SCOPES = ("world", "choices")


@dataclass(frozen=True, slots=True)
class Interval:
    """Energy the run added between two boundaries (IT kWh, each joule once) and the CO2e it was charged."""

    end_time: float
    energy_kwh: float
    co2_kg: float


@dataclass(frozen=True, slots=True)
class Place:
    """This run's energy priced at one place."""

    key: str  # zone key ("DE", "US-CAL-CISO") or cloud region ("aws:eu-west-1")
    kind: str  # "zone" | "cloud" | "this run"
    zone: str
    name: str
    country: str
    carbon_intensity_g_per_kwh: float  # energy-weighted mean over the run's intervals
    intensity_source: str
    year: int | None
    basis: str
    co2_kg: float
    co2_saving_kg: float  # this run's CO2e minus this place's (> 0: cleaner here)
    co2_saving_rel: float | None  # that saving / this run's CO2e
    same_basis: bool  # the same intensity basis as this run's zone
    price_per_kwh: float | None = None
    currency: str = ""
    price_source: str = "unknown"
    cost: float | None = None
    cost_saving: float | None = None
    cost_saving_rel: float | None = None
    #: water there (greenops_tb.footprint.water; None = unknown): off-site from the place's grid mix, on-site
    #: from its cloud provider's published WUE (this run: as recorded). Embodied emissions are the same anywhere.
    water_offsite_l: float | None = None
    water_onsite_l: float | None = None


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The ranked alternatives of one run."""

    run: str
    pue: float
    energy_kwh: float
    facility_energy_kwh: float
    this_run: Place
    cleanest: list[Place]
    cheapest: list[Place]
    places: int  # alternatives considered
    rank: int  # this run's place among them by CO2e (1 = cleanest)
    bases: dict[str, int]  # basis -> alternatives considered with it
    notes: list[str] = field(default_factory=list)
    scope: str = "world"  # "world" | "choices" (cloud regions and the zones near this run's)


def run_intervals(records: Sequence[Record]) -> list[Interval]:
    """Increments of the run's running totals in emission order (kept records only; they sum to the totals)."""
    out, e0, c0 = [], 0.0, 0.0
    for r in sorted(records, key=lambda r: r.seq):
        if r.run_energy_kwh != e0 or r.run_co2_kg != c0:
            out.append(Interval(r.end_time, r.run_energy_kwh - e0, r.run_co2_kg - c0))
            e0, c0 = r.run_energy_kwh, r.run_co2_kg
    return out


def yearly(zone: Zone, _t: float) -> float:
    """The embedded dataset's value for ``zone`` (any time)."""
    return zone.carbon_intensity_g_per_kwh


def near_countries(ds: Dataset, zone: str) -> set[str]:
    """The countries near ``zone``'s: its own, and those with a cloud region in a family (provider and the region
    name's first part: ``aws:eu``, ``gcp:europe``) that has a region in its country. Empty for an unknown zone."""
    own = ds.zones.get(zone)
    if own is None or own.kind == "world":
        return set()
    country = own.country or own.key

    def family(key: str) -> str:
        return key.split("-", 1)[0]

    def country_of(region: str) -> str:
        z = ds.zones[ds.cloud[region].zone]
        return z.country or z.key

    families = {family(k) for k in ds.cloud if country_of(k) == country}
    return {country} | {country_of(k) for k in ds.cloud if family(k) in families}


def _is_alias(ds: Dataset, key: str) -> bool:
    """``azure:west europe`` beside ``azure:westeurope``: the same region spelled out (kept for look-ups)."""
    return " " in key and key.replace(" ", "") in ds.cloud


def _candidates(ds: Dataset, clouds: Iterable[str] | None, countries: Iterable[str] | None, scope: str = "world",
                zone: str = "") -> list[tuple[str, str, Zone, str]]:
    """(key, kind, zone, name) of every place the filters keep; ``scope="choices"``: the module docstring's."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; choose from {', '.join(SCOPES)}")
    want_c = {c.strip().upper() for c in countries} if countries else None
    out: list[tuple[str, str, Zone, str]] = []
    if clouds is None:
        near = near_countries(ds, zone) if scope == "choices" else None
        own_country = ds.zones[zone].country if zone in ds.zones else ""
        out += [(k, "zone", z, z.name) for k, z in ds.zones.items() if z.kind != "world" and (
            near is None or (z.country or z.key) == own_country or (z.kind == "country" and z.key in near))]
    providers = {p.strip().lower() for p in clouds} if clouds else None
    unknown = (providers or set()) - {k.split(":", 1)[0] for k in ds.cloud}
    if unknown:
        raise UsageError(f"unknown cloud provider(s) {sorted(unknown)}; choose from aws, gcp, azure")
    for key, region in ds.cloud.items():
        if (providers is None or key.split(":", 1)[0] in providers) and not (scope == "choices" and _is_alias(ds, key)):
            out.append((key, "cloud", ds.zones[region.zone], f"{region.name} ({region.zone})"))
    if want_c is not None:
        out = [c for c in out if (c[2].country or c[2].key) in want_c]
        if not out:
            raise UsageError(f"no zone or cloud region in {sorted(want_c)}; pass ISO alpha-2 codes, e.g. DE,FR")
    return out


def _saving(base: float | None, value: float | None) -> tuple[float | None, float | None]:
    if base is None or value is None:
        return None, None
    return base - value, (base - value) / base if base else None


def whatif(records: Sequence[Record], *, run: str | None = None, pue: float | None = None, top: int = 10,
           clouds: Iterable[str] | None = None, countries: Iterable[str] | None = None, basis: str | None = None,
           intensity_at: IntensityAt = yearly, scope: str = "world") -> WhatIf:
    """Rank every place of the dataset (filtered) by this run's CO2e and cost there (see the module docstring).

    ``pue`` (default: the run's) applies to every place, this run included; ``basis`` keeps only alternatives
    with that intensity basis ("production", "consumption-lifecycle"); ``scope`` is ``"world"`` (every place) or
    ``"choices"`` (cloud regions and the zones near this run's).
    """
    if not records:
        raise UsageError("the run has no records; nothing to re-price")
    last = max(records, key=lambda r: r.seq)
    p = last.pue if pue is None else float(pue)
    if not 1.0 <= p < math.inf:
        raise UsageError(f"pue must be a finite number >= 1 (1.0 = no data-centre overhead), got {pue!r}")
    ds = load()
    ivs = run_intervals(records)
    energy = sum(i.energy_kwh for i in ivs)
    facility = energy * p
    scale = p / last.pue
    own = ds.zones.get(last.location)
    own_basis = own.basis if own is not None else ""
    base_co2 = sum(i.co2_kg for i in ivs) * scale
    base_cost = None if last.run_cost is None else last.run_cost * scale
    this = Place(
        key=last.location, kind="this run", zone=last.location, name=own.name if own else last.location,
        country=own.country if own else "", carbon_intensity_g_per_kwh=base_co2 * 1000 / facility if facility else 0.0,
        intensity_source=last.intensity_source, year=own.year if own else None, basis=own_basis, co2_kg=base_co2,
        co2_saving_kg=0.0, co2_saving_rel=0.0, same_basis=True,
        price_per_kwh=(base_cost / facility if base_cost is not None and facility else None),
        currency=last.currency, price_source=last.price_source, cost=base_cost,
        cost_saving=None if base_cost is None else 0.0, cost_saving_rel=None if base_cost is None else 0.0,
        water_offsite_l=None if last.run_water_offsite_l is None else last.run_water_offsite_l * scale,
        water_onsite_l=last.run_water_onsite_l,  # IT energy x WUE: the PUE does not change it
    )
    places = []
    for key, kind, zone, name in _candidates(ds, clouds, countries, scope, last.location):
        if basis is not None and zone.basis != basis:
            continue
        co2 = sum(i.energy_kwh * p * intensity_at(zone, i.end_time) for i in ivs) / 1000.0
        zp = ds.prices.get(zone.country or zone.key)
        cost = facility * zp.price_per_kwh if zp is not None else None
        comparable = zp is not None and zp.currency == last.currency
        saving, rel = _saving(base_co2, co2)
        csave, crel = _saving(base_cost, cost) if comparable else (None, None)
        places.append(Place(
            key=key, kind=kind, zone=zone.key, name=name, country=zone.country,
            carbon_intensity_g_per_kwh=co2 * 1000 / facility if facility else zone.carbon_intensity_g_per_kwh,
            intensity_source=zone.intensity_source, year=zone.year, basis=zone.basis, co2_kg=co2,
            co2_saving_kg=saving or 0.0, co2_saving_rel=rel, same_basis=zone.basis == own_basis,
            price_per_kwh=zp.price_per_kwh if zp else None, currency=zp.currency if zp else "",
            price_source=zp.source if zp else "unknown", cost=cost, cost_saving=csave, cost_saving_rel=crel,
            water_offsite_l=offsite_water_l({s: facility * share for s, share in zone.mix.items()}),
            water_onsite_l=onsite_water_l(energy, resolve_wue(None, key)) if kind == "cloud" else None,
        ))
    if not places:
        raise UsageError(f"no place has basis {basis!r}; use production or consumption-lifecycle")
    by_co2 = sorted(places, key=lambda x: (x.co2_kg, x.key))
    by_cost = sorted((x for x in places if x.cost is not None), key=lambda x: (x.cost, x.key))
    bases: dict[str, int] = {}
    for x in places:
        bases[x.basis] = bases.get(x.basis, 0) + 1
    notes = []
    if len(bases) > 1:
        notes.append("the ranking mixes intensity bases (" + ", ".join(f"{b}: {n}" for b, n in sorted(bases.items()))
                     + "); production-based values leave out imports, consumption-lifecycle values include them "
                     "and upstream emissions: compare within one basis (--basis)")
    if base_cost is None:
        notes.append("this run's cost is unknown (no price), so cost savings are not given")
    elif by_cost and any(x.currency != last.currency for x in by_cost):
        notes.append(f"prices elsewhere are in another currency than this run's ({last.currency}); "
                     "cost savings are given only where the currency matches")
    return WhatIf(
        run=run or last.run, pue=p, energy_kwh=energy, facility_energy_kwh=facility, this_run=this,
        cleanest=by_co2[:top], cheapest=by_cost[:top], places=len(places),
        rank=1 + sum(1 for x in places if x.co2_kg < base_co2), bases=bases, notes=notes, scope=scope,
    )
