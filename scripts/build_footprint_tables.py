"""Build greenops_tb/footprint/data/{embodied,water}.json from the raw sources in data/sources/.

Inputs (hand transcriptions of published figures; every row names its publication, year, locator
and scope; see greenops_tb/footprint/data/PROVENANCE.md):

  data/sources/hardware_embodied/products.csv     embodied kgCO2e of a product (or a class average)
                                                  and how many devices that figure covers
  data/sources/hardware_embodied/assumptions.csv  lifetime, utilisation, GPUs per node
  data/sources/water/macknick2012_consumption.csv operational water consumption medians, gal/MWh
  data/sources/water/macknick2012_citation.csv    the publication those medians come from
  data/sources/water/source_technology.csv        grid source -> the technology row standing for it
  data/sources/water/wue.csv                      published cloud WUE (L/kWh), per provider and region

The only arithmetic: per-device kgCO2e = product figure / devices covered, and gal/MWh -> L/kWh.
Output is sorted, indented JSON, so the shipped files are byte-for-byte reproducible
(tests/test_footprint_tables.py rebuilds them and compares).

Usage: python scripts/build_footprint_tables.py [--src data/sources] [--out greenops_tb/footprint/data]
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data" / "sources"
OUT = ROOT / "greenops_tb" / "footprint" / "data"
#: US gallon in litres (exact, by definition) over 1000 kWh per MWh
L_PER_KWH_PER_GAL_PER_MWH = 3.785411784 / 1000.0
SOURCES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bioenergy", "other_renewable")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _cite(row: dict[str, str]) -> str:
    return f"{row['publisher']}, {row['publication']} ({row['year']}), {row['locator']}"


def embodied(src: Path) -> dict:
    """Per-device embodied kgCO2e by matching key (GPUs) and class, plus the documented defaults."""
    out: dict = {"gpu": {}, "class": {}, "defaults": {}}
    for row in _rows(src / "hardware_embodied" / "products.csv"):
        total, units = float(row["kgco2e"]), int(row["units"])
        entry = {
            "kgco2e": total / units,
            "product": row["product"],
            "figure": f"{total:g} kgCO2e" + (f" / {units} devices" if units != 1 else ""),
            "scope": row["scope"],
            "year": int(row["year"]),
            "source": _cite(row),
            "confidence": row["confidence"],
        }
        if row["key"].startswith("class:"):
            out["class"][row["key"][len("class:"):]] = entry
        else:
            if row["kind"] != "gpu":
                raise ValueError(f"products.csv: only GPUs are matched by name, got kind {row['kind']!r}")
            out["gpu"][row["key"]] = entry
    for row in _rows(src / "hardware_embodied" / "assumptions.csv"):
        out["defaults"][row["name"]] = {"value": float(row["value"]), "unit": row["unit"], "source": _cite(row)}
    return out


def water(src: Path) -> dict:
    """Off-site factors (L/kWh) per grid source and published WUE per provider and region."""
    (cite,) = _rows(src / "water" / "macknick2012_citation.csv")
    citation = f"{cite['authors']} ({cite['year']}), {cite['title']}, {cite['journal']}, {cite['table']}, {cite['statistic']}"
    medians = {(r["technology"], r["cooling"]): r for r in _rows(src / "water" / "macknick2012_consumption.csv")}
    offsite: dict = {}
    for row in _rows(src / "water" / "source_technology.csv"):
        tech = medians.get((row["technology"], row["cooling"]))
        if tech is None:
            raise ValueError(f"source_technology.csv: {row['source']} names {row['technology']!r}/{row['cooling']!r}, "
                             "which macknick2012_consumption.csv does not have")
        gal = float(tech["median_gal_per_mwh"])
        offsite[row["source"]] = {
            "l_per_kwh": gal * L_PER_KWH_PER_GAL_PER_MWH,
            "gal_per_mwh": gal,
            "technology": f"{row['technology']}, {row['cooling']}",
            "proxy": row["note"].startswith("Proxy"),
            "confidence": tech["confidence"],
        }
    missing = set(SOURCES) - offsite.keys()
    if missing:
        raise ValueError(f"source_technology.csv lacks grid sources {sorted(missing)}")
    wue: dict = {}
    for row in _rows(src / "water" / "wue.csv"):
        wue.setdefault(row["provider"], {})[row["region"]] = {
            "l_per_kwh": float(row["wue_l_per_kwh"]),
            "year": int(row["year"]),
            "scope": row["scope"],
            "source": _cite(row),
            "confidence": row["confidence"],
        }
    return {"offsite": offsite, "offsite_source": citation, "offsite_licence": cite["licence"], "wue": wue}


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def build(src: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "embodied.json", embodied(src))
    _write(out / "water.json", water(src))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=SRC)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    build(args.src, args.out)


if __name__ == "__main__":
    main()
