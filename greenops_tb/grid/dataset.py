"""The embedded grid dataset (``data/grid.json.gz``, built by ``scripts/build_dataset.py``), loaded lazily once."""
from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

DATA_FILE = "grid.json.gz"
WORLD = "WORLD"


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone of the embedded dataset."""

    key: str  # "DE", "US-CA", "SE-SE3", "WORLD"
    name: str
    carbon_intensity_g_per_kwh: float
    intensity_source: str  # "ember-2024", "electricitymaps-2025", ...
    basis: str  # "production" or "consumption-lifecycle"
    year: int
    country: str  # alpha-2 of the containing country, "" for the world
    kind: str  # "country" | "subdivision" | "zone" | "world"
    mix: Mapping[str, float]
    mix_source: str

    @property
    def label(self) -> str:
        """``ember-2024 (production)``: dataset, year and basis."""
        return f"{self.intensity_source} ({self.basis})"


@dataclass(frozen=True, slots=True)
class Price:
    price_per_kwh: float
    currency: str
    source: str


@dataclass(frozen=True, slots=True)
class CloudRegion:
    key: str  # "aws:eu-west-1"
    zone: str
    name: str
    source: str


class Dataset:
    """Read-only view of the embedded data."""

    def __init__(self, raw: Mapping[str, Any]):
        self.zones: dict[str, Zone] = {
            k: Zone(k, z["name"], z["ci"], z["ci_source"], z["basis"], z["year"], z["country"], z["kind"],
                    z["mix"], z["mix_source"])
            for k, z in raw["zones"].items()
        }
        self.aliases: dict[str, str] = dict(raw["aliases"])
        self.cloud: dict[str, CloudRegion] = {
            k: CloudRegion(k, c["zone"], c["name"], c["source"]) for k, c in raw["cloud"].items()
        }
        self.prices: dict[str, Price] = {
            k: Price(p["price"], p["currency"], p["source"]) for k, p in raw["prices"].items()
        }
        self.currencies: dict[str, str] = dict(raw["currencies"])
        self.factors: dict[str, float] = dict(raw["factors"])
        self.factors_source: str = raw["factors_source"]

    def provenance(self, zone: Zone) -> dict[str, str]:
        """Source, licence and year of the data behind ``zone`` (for run metadata)."""
        out = {"intensity": zone.label, "intensity_licence": licence_of(zone.intensity_source)}
        if zone.mix:
            out["mix"] = zone.mix_source
            out["mix_licence"] = licence_of(zone.mix_source)
            out["co2_by_source_factors"] = self.factors_source
        out["notice"] = "greenops_tb/grid/data/PROVENANCE.md"
        return out


def licence_of(source: str) -> str:
    if source.startswith("electricitymaps"):
        return "ODbL-1.0 (Electricity Maps; share-alike)"
    if source.startswith("cer"):
        return "MIT (CodeCarbon; data Canada Energy Regulator)"
    return "CC-BY-4.0"


@functools.cache
def load() -> Dataset:
    """The dataset, read and parsed on first use (a few ms)."""
    blob = resources.files(__package__).joinpath("data").joinpath(DATA_FILE).read_bytes()
    return Dataset(json.loads(gzip.decompress(blob)))
