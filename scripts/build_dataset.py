"""Build the embedded grid dataset ``greenops_tb/grid/data/grid.json.gz`` from the raw sources in ``data/sources``.

Usage: ``python scripts/build_dataset.py [--data DIR] [--out FILE]`` (defaults: data/sources, the shipped file).

Bases (documented in greenops_tb/grid/data/PROVENANCE.md; each zone carries its own label):

* Countries and the world: **production-based** (generation) intensity: Ember yearly (latest year),
  else OWID ``carbon_intensity_elec`` via CodeCarbon (0 there means missing), else Electricity Maps.
  Mix: OWID generation shares (production-based).
* US and Indian states (ISO 3166-2 codes): Ember state data, production-based, with their mix.
* Electricity Maps zones not covered above (balancing authorities, bidding zones, AU/CA states...):
  Electricity Maps yearly, **lifecycle consumption-based**; labelled so, never blended with the above.
  Canadian provinces get the Canada Energy Regulator generation mix (via CodeCarbon 2023).
* Cloud regions: Electricity Maps data-centre placement, gaps filled from Green Algorithms.
  A region placed in a whole-country zone uses that country's (production-based) value.
* Price: Eurostat nrg_pc_205 (non-household, band IC, excl. VAT), latest half-year per country.
* Lifecycle factors per source: IPCC AR5 WG3 Annex III medians (Schloemer et al. 2014) via OWID.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / "data" / "sources"
DEFAULT_OUT = REPO / "greenops_tb" / "grid" / "data" / "grid.json.gz"
SOURCES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bioenergy", "other_renewable")

# ISO 3166-2:IN subdivision codes (2023 edition; older codes kept as aliases below).
INDIA_CODES = {
    "Andaman and Nicobar": "AN", "Andhra Pradesh": "AP", "Arunachal Pradesh": "AR", "Assam": "AS",
    "Bihar": "BR", "Chandigarh": "CH", "Chhattisgarh": "CG", "Dadra and Nagar Haveli and Daman and Diu": "DH",
    "Delhi": "DL", "Goa": "GA", "Gujarat": "GJ", "Haryana": "HR", "Himachal Pradesh": "HP",
    "Jammu and Kashmir": "JK", "Jharkhand": "JH", "Karnataka": "KA", "Kerala": "KL", "Ladakh": "LA",
    "Lakshadweep": "LD", "Madhya Pradesh": "MP", "Maharashtra": "MH", "Manipur": "MN", "Meghalaya": "ML",
    "Mizoram": "MZ", "Nagaland": "NL", "Odisha": "OD", "Puducherry": "PY", "Punjab": "PB", "Rajasthan": "RJ",
    "Sikkim": "SK", "Tamil Nadu": "TN", "Telangana": "TS", "Tripura": "TR", "Uttar Pradesh": "UP",
    "Uttarakhand": "UK", "West Bengal": "WB",
}
INDIA_OLD_CODES = {"IN-CT": "IN-CG", "IN-UT": "IN-UK", "IN-OR": "IN-OD", "IN-TG": "IN-TS"}
# ISO 3166-2:CA codes of the province names used by the CodeCarbon/CER mix file.
CANADA_CODES = {
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "northwest territories": "NT", "nova scotia": "NS", "nunavut": "NU",
    "ontario": "ON", "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK", "yukon": "YT",
}
# ISO 3166-2 subdivisions that sit inside a differently named Electricity Maps zone.
EXTRA_ALIASES = {"AU-ACT": "AU-NSW", **INDIA_OLD_CODES}
CER_KEYS = {"coal": "coal", "naturalGas": "gas", "petroleum": "oil", "nuclear": "nuclear", "hydro": "hydro",
            "wind": "wind", "solar": "solar", "biomass": "bioenergy", "tidal": "other_renewable"}
IPCC_KEYS = {"Coal": "coal", "Natural Gas": "gas", "Oil": "oil", "Nuclear": "nuclear", "Hydropower": "hydro",
             "Wind": "wind", "Solar": "solar", "Biomass": "bioenergy", "Geothermal": "other_renewable"}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _num(s: str | None) -> float | None:
    """A positive number, or None for empty/0 (0 means missing in the OWID/CodeCarbon extract)."""
    try:
        x = float(s) if s not in (None, "") else 0.0
    except ValueError:
        return None
    return x if math.isfinite(x) and x > 0 else None


def _mix(values: dict[str, float]) -> dict[str, float]:
    """Shares of SOURCES (8 decimals, sum 1 within 1e-7); {} when nothing is known."""
    vals = {k: max(0.0, float(values.get(k) or 0.0)) for k in SOURCES}
    total = sum(vals.values())
    if total <= 0:
        return {}
    shares = {k: round(v / total, 8) for k, v in vals.items()}
    biggest = max(shares, key=shares.get)
    shares[biggest] = round(shares[biggest] + 1.0 - sum(shares.values()), 8)
    return shares


def _zone(name, ci, source, basis, year, country, kind, mix=None, mix_source=""):
    return {"name": name, "ci": round(float(ci), 3), "ci_source": source, "basis": basis, "year": int(year),
            "country": country, "kind": kind, "mix": mix or {}, "mix_source": mix_source if mix else ""}


def build(data: Path) -> dict:
    iso = _rows(data / "country_codes_iso3166.csv")
    iso_by2 = {r["iso2"]: r for r in iso if r["iso2"]}
    iso3_to2 = {r["iso3"]: r["iso2"] for r in iso if r["iso3"]}
    iso3_to2["XKX"] = "XK"
    zones: dict[str, dict] = {}

    # ---- OWID mix (production) per country
    owid = {}
    for r in _rows(data / "owid_country_electricity_mix_latest.csv"):
        a2 = r["iso2"] or iso3_to2.get(r["iso3"], "")
        if not a2:
            continue
        vals = {s: float(r[f"{s}_twh"] or 0) for s in SOURCES if s != "other_renewable"}
        vals["other_renewable"] = float(r["other_renewable_exc_bioenergy_twh"] or 0)
        owid[a2] = {"name": r["country"], "year": int(r["year"]), "ci": _num(r["carbon_intensity_gco2e_per_kwh"]),
                    "mix": _mix(vals)}

    # ---- Ember country intensity (production), latest year with a value
    ember: dict[str, tuple[int, float, str]] = {}
    for r in _rows(data / "ember_country_carbon_intensity_yearly.csv"):
        a2 = r["iso2"] or iso3_to2.get(r["iso3"], "")
        key = a2 or ("WORLD" if r["country_or_region"] == "World" else "")
        ci = _num(r["emissions_intensity_gco2_per_kwh"])
        if key and ci is not None and (key not in ember or int(r["year"]) > ember[key][0]):
            ember[key] = (int(r["year"]), ci, r["country_or_region"])

    # ---- Electricity Maps yearly (lifecycle, consumption-based), latest year with a value
    em: dict[str, dict] = {}
    for r in _rows(data / "electricitymaps_zone_yearly_2021_2025.csv"):
        ci = _num(r["carbon_intensity_gco2eq_per_kwh"])
        if ci is not None and (r["zone_key"] not in em or int(r["year"]) > em[r["zone_key"]]["year"]):
            label = r["display_name"] or ", ".join(x for x in (r["zone_name"], r["country_name"]) if x)
            em[r["zone_key"]] = {"year": int(r["year"]), "ci": ci, "name": label or r["zone_key"]}

    for a2 in sorted(set(owid) | {k for k in ember if k != "WORLD"} | {k for k in em if len(k) == 2}):
        name = (owid.get(a2, {}).get("name") or ember.get(a2, (0, 0, ""))[2] or iso_by2.get(a2, {}).get("name")
                or em.get(a2, {}).get("name", a2))
        o = owid.get(a2, {})
        mix = o.get("mix") or {}
        if a2 in ember:
            y, ci, _ = ember[a2]
            zones[a2] = _zone(name, ci, f"ember-{y}", "production", y, a2, "country", mix, f"owid-{o.get('year')}")
        elif o.get("ci") is not None:
            zones[a2] = _zone(name, o["ci"], f"owid-{o['year']}", "production", o["year"], a2, "country", mix,
                              f"owid-{o['year']}")
        elif a2 in em:
            e = em[a2]
            zones[a2] = _zone(name, e["ci"], f"electricitymaps-{e['year']}", "consumption-lifecycle", e["year"], a2,
                              "country", mix, f"owid-{o.get('year')}")

    # ---- World: Ember intensity, OWID world mix of the same year where present
    world_rows = {int(r["year"]): r for r in _rows(data / "owid_world_eu_electricity_2023_2025.csv")
                  if r["country"] == "World"}
    wy, wci, _ = ember["WORLD"]
    wr = world_rows.get(wy) or world_rows[max(world_rows)]
    wmix = {s: float(wr[f"{s}_electricity"]) for s in SOURCES[:7]}
    wmix["bioenergy"] = float(wr["biofuel_electricity"])
    wmix["other_renewable"] = float(wr["other_renewable_exc_biofuel_electricity"])
    zones["WORLD"] = _zone("World average", wci, f"ember-{wy}", "production", wy, "", "world", _mix(wmix),
                           f"owid-{wr['year']}")

    # ---- US and Indian states (Ember, production)
    for fname, country in (("ember_us_states_electricity_yearly.csv", "US"),
                           ("ember_india_states_electricity_yearly.csv", "IN")):
        latest: dict[str, dict] = {}
        for r in _rows(data / fname):
            code = r["state_code"] if country == "US" else INDIA_CODES.get(r["state"], "")
            if code and _num(r["emissions_intensity_gco2_per_kwh"]) is not None:
                if code not in latest or int(r["year"]) > int(latest[code]["year"]):
                    latest[code] = r
        for code, r in latest.items():
            vals = {s: _num(r.get(f"{s}_generation_gwh")) or 0.0 for s in SOURCES}
            vals["oil"] = _num(r["other_fossil_generation_gwh"]) or 0.0
            vals["other_renewable"] = _num(r["other_renewables_generation_gwh"]) or 0.0
            y = int(r["year"])
            zones[f"{country}-{code}"] = _zone(f"{r['state']}, {iso_by2[country]['name']}",
                                               r["emissions_intensity_gco2_per_kwh"], f"ember-states-{y}",
                                               "production", y, country, "subdivision", _mix(vals),
                                               f"ember-states-{y}")

    # ---- Remaining Electricity Maps zones (consumption-based, lifecycle)
    for key, e in sorted(em.items()):
        if key not in zones:
            zones[key] = _zone(e["name"], e["ci"], f"electricitymaps-{e['year']}", "consumption-lifecycle",
                               e["year"], key.split("-")[0], "zone")
    cer = json.loads((data / "codecarbon_canada_energy_mix_2023.json").read_text())
    for prov, shares in cer.items():
        key = "CA-" + CANADA_CODES[prov]
        mix = _mix({CER_KEYS[k]: v for k, v in shares.items() if k in CER_KEYS})
        if key in zones and mix:
            zones[key]["mix"], zones[key]["mix_source"] = mix, "cer-2023 (via codecarbon)"

    # ---- aliases: alpha-3 and names of countries, old/contained subdivision codes
    aliases: dict[str, str] = {}
    for a2, z in zones.items():
        if z["kind"] == "country":
            r = iso_by2.get(a2, {})
            for alias in (r.get("iso3"), r.get("name"), r.get("official_name_en"), owid.get(a2, {}).get("name"),
                          ember.get(a2, (0, 0, ""))[2]):
                if alias:
                    aliases.setdefault(alias.lower(), a2)
    aliases.update({k.lower(): v for k, v in EXTRA_ALIASES.items() if v in zones})
    aliases.update({"world": "WORLD", "world average": "WORLD", "wld": "WORLD"})
    aliases = {k: v for k, v in aliases.items() if k.upper() not in zones}

    # ---- cloud regions
    cloud: dict[str, dict] = {}
    for r in _rows(data / "cloud_region_grid_zone_electricitymaps.csv"):
        if r["zone_key"] in zones:
            cloud[f"{r['provider']}:{r['region']}".lower()] = {"zone": r["zone_key"], "name": r["display_name"],
                                                               "source": "electricitymaps-contrib data_centers"}
    for r in _rows(data / "cloud_region_location_greenalgorithms.csv"):
        key = f"{r['provider']}:{r['region']}".lower()
        code = EXTRA_ALIASES.get(r["location_code"], r["location_code"])
        if key not in cloud and code in zones:
            cloud[key] = {"zone": code, "name": r["location_freeform"] or r["region"], "source": "green-algorithms"}

    # ---- prices: Eurostat non-household, latest period per country
    prices: dict[str, dict] = {}
    for r in _rows(data / "eurostat_electricity_prices_eur_per_kwh.csv"):
        p = _num(r["price_per_kwh"])
        if r["iso2"] and r["consumer"] == "non_household" and p is not None:
            if r["iso2"] not in prices or r["period"] > prices[r["iso2"]]["period"]:
                prices[r["iso2"]] = {"price": p, "currency": r["currency"], "period": r["period"],
                                     "source": f"eurostat {r['eurostat_dataset']} {r['period']} "
                                               f"(non-household, band IC, excl. VAT)"}

    # ---- lifecycle factors (IPCC AR5 medians via OWID)
    factors = {}
    for r in _rows(data / "emission_factors_by_source.csv"):
        if r["dataset"] == "owid_ipcc_ar5_2014" and r["source"] in IPCC_KEYS:
            factors[IPCC_KEYS[r["source"]]] = float(r["gco2eq_per_kwh"])
    missing = set(SOURCES) - set(factors)
    if missing:
        raise SystemExit(f"emission_factors_by_source.csv lacks IPCC rows for {sorted(missing)}")

    currencies = {a2: r["currency_iso4217"] for a2, r in iso_by2.items() if r["currency_iso4217"]}
    return {"version": 1, "zones": zones, "aliases": dict(sorted(aliases.items())), "cloud": dict(sorted(cloud.items())),
            "prices": prices, "currencies": currencies, "factors": factors,
            "factors_source": "IPCC AR5 WG3 Annex III lifecycle medians (Schloemer et al. 2014, Table A.III.2) "
                              "via Our World in Data; oil 611 is OWID's derivation, not an IPCC value"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory of the raw data (default: data/sources)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if not (args.data / "README.md").exists():
        raise SystemExit(f"no raw data at {args.data}; pass --data DIR (a folder like data/sources, with its README.md)")
    ds = build(args.data)
    raw = json.dumps(ds, separators=(",", ":"), sort_keys=True).encode()
    args.out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    print(f"wrote {args.out}: {len(ds['zones'])} zones, {len(ds['cloud'])} cloud regions, "
          f"{len(ds['prices'])} prices, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
