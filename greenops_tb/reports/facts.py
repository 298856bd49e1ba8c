"""What every report says about a run, as one value (:class:`Facts`): the ``--format json`` report.

Built from the run's records and metadata through the same code as the Green tab
(:func:`greenops_tb.analysis.run_summary.summarize`) and :mod:`greenops_tb.analysis.uncertainty`, so a statement, a model
card, a CodeCarbon row and the tab cannot disagree.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from greenops_tb import __version__
from greenops_tb.analysis.run_summary import summarize
from greenops_tb.analysis.uncertainty import CITATIONS, Range, factors_json, run_uncertainty
from greenops_tb.errors import UsageError
from greenops_tb.footprint.view import footprint_citations
from greenops_tb.grid.dataset import load as load_dataset
from greenops_tb.readers.events import RunData

#: intensity / mix / price source prefix -> the data citation a report lists
DATA_CITATIONS: dict[str, str] = {
    "ember": "Ember, Yearly Electricity Data and US/India state data (CC BY 4.0), https://ember-energy.org",
    "owid": "Our World in Data, Energy dataset, Ritchie, Rosado and Roser (CC BY 4.0), https://ourworldindata.org/energy",
    "electricitymaps": "Electricity Maps, yearly zone data (ODbL 1.0), https://www.electricitymaps.com",
    "cer": "Canada Energy Regulator, provincial energy profiles, via CodeCarbon (MIT)",
    "eurostat": "Eurostat, nrg_pc_205 electricity prices for non-household consumers (CC BY 4.0)",
    "ipcc": "IPCC AR5 WG3 Annex III lifecycle emission factors (Schloemer et al. 2014), via Our World in Data",
}
_TRAINING_TYPES = ((re.compile(r"fine[-_]?tun|finetun|(^|[/_.-])ft($|[/_.-])"), "fine-tuning"),
                   (re.compile(r"pre[-_]?train"), "pre-training"))


@dataclass(frozen=True, slots=True)
class Device:
    device: str
    kind: str
    name: str
    provenance: str
    measured: bool
    energy_kwh: float


@dataclass(frozen=True, slots=True)
class StageFacts:
    stage: str
    duration_s: float
    energy_kwh: Range
    co2_kg: Range
    cost: float | None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a report states about one run, with units in the names and a source for each number."""

    run: str
    tool: str  # "greenops_tb 0.1.0"
    start_time: float
    end_time: float
    duration_s: float
    hardware: list[str]  # "1 x constant 45 W (cpu)", counted by name
    devices: list[Device]
    stages: list[StageFacts]
    training_type: str
    energy_kwh: Range  # IT energy
    facility_energy_kwh: Range
    pue: float
    pue_assumed: bool  # True: the default 1.0, no overhead counted
    location: str
    location_name: str
    location_source: str
    carbon_intensity_g_per_kwh: float
    intensity_source: str
    intensity_year: int | None
    intensity_basis: str
    co2_kg: Range
    cost: Range | None
    currency: str
    price_source: str
    uncertainty_rule: str
    uncertainty_factors: list[dict[str, Any]]
    citations: list[str]  # data sources, then the uncertainty sources
    complete: bool
    extra: dict[str, Any] = field(default_factory=dict)  # work units, efficiency (when the run counted them)
    #: embodied emissions and water (greenops_tb.footprint.view), BESIDE co2_kg, never in it
    footprint: dict[str, Any] = field(default_factory=dict)


def training_type(stages: list[str], override: str | None = None) -> str:
    """``fine-tuning`` / ``pre-training`` from stage names (``finetune``, ``pretrain``...), else ``training``."""
    if override:
        return override
    for pattern, kind in _TRAINING_TYPES:
        if any(pattern.search(s.lower()) for s in stages):
            return kind
    return "training"


def _hardware(devices: list[Device]) -> list[str]:
    """``1 x Intel Xeon (cpu, energy modelled: model-tdp)``: the hardware, and how its energy was known."""
    counts = Counter((d.name, d.kind, "" if d.measured else f", energy modelled: {d.provenance}") for d in devices)
    return [f"{n} x {name} ({kind}{how})" for (name, kind, how), n in counts.items()]


def _citations(summary: Mapping[str, Any], factor_sources: list[str]) -> list[str]:
    labels = [summary["intensity_source"], summary["price"]["source"], summary.get("dataset", {}).get("mix", "")]
    out = [text for key, text in DATA_CITATIONS.items() if any(lab.startswith(key) for lab in labels if lab)]
    if summary.get("co2_by_source_kg"):
        out.append(DATA_CITATIONS["ipcc"])
    out += footprint_citations(summary.get("footprint") or {})
    return out + [CITATIONS[k] for k in dict.fromkeys(factor_sources) if k != "assumption"]


def facts(data: RunData, *, training: str | None = None) -> Facts:
    """The facts of one run (ValueError when it has no records)."""
    if not data.records:
        raise UsageError(f"run {data.run!r} has no records; nothing to report")
    s = summarize(data)
    run_u, stage_u = run_uncertainty(data.records)
    meta = data.metadata
    names = {k: v.get("name", k) for k, v in (meta.devices if meta else {}).items()}
    devices = [Device(d["device"], d["kind"], names.get(d["device"], d["device"]), d["provenance"], d["measured"],
                      d["energy_kwh"]) for d in s["devices"]]
    zone = load_dataset().zones.get(s["location"]["zone"])
    stages = [StageFacts(st["stage"], st["duration_s"], stage_u[st["stage"]].energy_kwh, stage_u[st["stage"]].co2_kg,
                         st["cost"]) for st in s["stages"]]
    factors = factors_json(run_u)
    return Facts(
        run=data.records[-1].run, tool=f"greenops_tb {meta.version if meta else __version__}",
        start_time=s["start_time"], end_time=s["end_time"], duration_s=s["totals"]["duration_s"],
        hardware=_hardware(devices), devices=devices, stages=stages,
        training_type=training_type([st.stage for st in stages], training),
        energy_kwh=run_u.energy_kwh, facility_energy_kwh=run_u.facility_energy_kwh, pue=s["pue"],
        pue_assumed=s["pue"] == 1.0, location=s["location"]["zone"],
        location_name=s["location"]["name"] or (zone.name if zone else s["location"]["zone"]),
        location_source=s["location"]["source"], carbon_intensity_g_per_kwh=s["carbon_intensity_g_per_kwh"],
        intensity_source=s["intensity_source"], intensity_year=zone.year if zone else None,
        intensity_basis=zone.basis if zone else "", co2_kg=run_u.co2_kg, cost=run_u.cost, currency=s["currency"],
        price_source=s["price"]["source"], uncertainty_rule=run_u.rule, uncertainty_factors=factors,
        citations=_citations(s, [f.source for f in run_u.factors]), complete=s["complete"],
        footprint=dict(s.get("footprint", {})),
    )

