"""The embedded footprint tables (``data/embodied.json``, ``data/water.json``) as value objects.

Both files are built by ``scripts/build_footprint_tables.py`` from the hand-transcribed raw sources in
``data/sources/``; ``data/PROVENANCE.md`` gives every figure's publication, year, scope and licence.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

from greenops_tb.errors import DataError


@dataclass(frozen=True, slots=True)
class EmbodiedFigure:
    """Embodied emissions of ONE device (a product's figure divided by the devices it covers)."""

    key: str  # table key ("nvidia h100 sxm") or class name ("gpu", "host")
    kgco2e: float
    product: str
    figure: str  # the published figure as it was given, e.g. "1312 kgCO2e / 8 devices"
    scope: str  # "cradle-to-gate", "manufacturing (estimate)"
    year: int
    source: str  # publisher, publication (year), locator
    confidence: str  # "high" | "medium"


@dataclass(frozen=True, slots=True)
class EmbodiedTable:
    gpus: Mapping[str, EmbodiedFigure]  # matched on the NVML name
    classes: Mapping[str, EmbodiedFigure]  # "gpu", "host"
    defaults: Mapping[str, float]  # lifetime_years, utilisation, host_gpus
    default_sources: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WaterFactor:
    """Operational water consumption of one grid source's electricity."""

    source: str  # a records.SOURCES name
    l_per_kwh: float
    gal_per_mwh: float  # as published
    technology: str  # the technology and cooling row standing for this source
    proxy: bool  # True when that row is a stand-in (no row for the source itself)
    confidence: str


@dataclass(frozen=True, slots=True)
class Wue:
    """A published water usage effectiveness: site water per IT energy."""

    l_per_kwh: float
    year: int
    scope: str
    source: str
    confidence: str


@dataclass(frozen=True, slots=True)
class WaterTable:
    offsite: Mapping[str, WaterFactor]
    offsite_source: str  # the publication of the factors
    wue: Mapping[str, Mapping[str, Wue]]  # provider -> region ("*" = fleet-wide) -> WUE


def _read(name: str) -> dict[str, Any]:
    text = resources.files("greenops_tb.footprint").joinpath("data", name).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as err:
        raise DataError(f"corrupt embedded table footprint/data/{name} ({err}); reinstall greenops_tb") from None


def _figure(key: str, d: Mapping[str, Any]) -> EmbodiedFigure:
    return EmbodiedFigure(key, float(d["kgco2e"]), d["product"], d["figure"], d["scope"], int(d["year"]),
                          d["source"], d["confidence"])


@functools.lru_cache(maxsize=1)
def embodied_table() -> EmbodiedTable:
    d = _read("embodied.json")
    return EmbodiedTable(
        gpus={k: _figure(k, v) for k, v in d["gpu"].items()},
        classes={k: _figure(k, v) for k, v in d["class"].items()},
        defaults={k: float(v["value"]) for k, v in d["defaults"].items()},
        default_sources={k: v["source"] for k, v in d["defaults"].items()},
    )


@functools.lru_cache(maxsize=1)
def water_table() -> WaterTable:
    d = _read("water.json")
    return WaterTable(
        offsite={s: WaterFactor(s, float(v["l_per_kwh"]), float(v["gal_per_mwh"]), v["technology"], bool(v["proxy"]),
                                v["confidence"]) for s, v in d["offsite"].items()},
        offsite_source=d["offsite_source"],
        wue={p: {r: Wue(float(w["l_per_kwh"]), int(w["year"]), w["scope"], w["source"], w["confidence"])
                 for r, w in regions.items()} for p, regions in d["wue"].items()},
    )
