"""Run summaries for the Green tab, computed from a run's records (:class:`RunData`).

Totals come from the latest record of each stage (``stage_*``) and the run's
latest record (``run_*``): those are running totals, and one tag per stage means
TensorBoard's reservoir always keeps each stage's latest record.

The split of a total over devices and over grid sources is exact too: every
record carries the running splits (``run_devices_kwh``; ``stage_mix_kwh`` and
``run_mix_kwh`` through :func:`~greenops_tb.format.schema.running_mix`), so the latest records alone give them
(``splits_exact``). Records written before those fields existed fall back to
the shares of the kept records, applied to the exact total (exact when
TensorBoard kept them all, ``complete``). Only the series and the device context
statistics depend on how many records TensorBoard kept.

``co2_by_source_kg`` splits a run's or a stage's CO2 over the sources of its
energy mix in proportion to share x IPCC AR5 lifecycle factor
(:func:`~greenops_tb.grid.factors.split_co2_by_source`); the parts sum to the
CO2 total and the summary names the factors (``co2_by_source_factors``).

A device's context (what its source says it was doing, e.g. ``util_pct`` and
``mem_used_gb``; see :class:`~greenops_tb.format.schema.DeviceEnergy`) is summarised
per key over the kept records as :class:`~greenops_tb.analysis.context.ContextStats`: ``mean`` weighted by each
record's duration (a plain mean when every record is zero-length), ``max`` and
``last`` (the latest record's value). Overlapping stages count their shared time
once per stage. Keys no record reports are left out; a device without context
gets ``{}``.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict
from typing import Any, Iterable, Mapping, cast

from greenops_tb.analysis.context import ContextAccumulator
from greenops_tb.analysis.contract import (
    CompareRow,
    DeviceSummary,
    Efficiency,
    FootprintSummary,
    RunRanges,
    RunSummary,
    StageSummary,
    Totals,
)
from greenops_tb.analysis.latest import by_stage
from greenops_tb.analysis.ranks import job_summary
from greenops_tb.analysis.uncertainty import ranges_json
from greenops_tb.footprint.view import footprint_summary
from greenops_tb.format.schema import LOW_CARBON_SOURCES, RENEWABLE_SOURCES, SOURCES, Record, running_mix
from greenops_tb.format.units import avg_power_w
from greenops_tb.format.workunits import stage_efficiency
from greenops_tb.grid.dataset import load as load_dataset
from greenops_tb.grid.factors import split_co2_by_source
from greenops_tb.readers.events import RunData


def mix_shares(mix_kwh: Mapping[str, float]) -> dict[str, float]:
    """Energy per source -> share per source (empty when nothing is known)."""
    total = sum(mix_kwh.values())
    return {s: mix_kwh[s] / total for s in SOURCES if s in mix_kwh} if total > 0 else {}


def share_of(mix_kwh: Mapping[str, float], sources: Iterable[str]) -> float | None:
    """Fraction of the mix that comes from ``sources``; None when no mix is known."""
    total = sum(mix_kwh.values())
    return sum(v for k, v in mix_kwh.items() if k in sources) / total if total > 0 else None


def co2_by_source(co2_kg: float, mix_kwh: Mapping[str, float]) -> dict[str, float]:
    """``co2_kg`` split over the sources of ``mix_kwh`` by lifecycle factor (parts sum to it; {} without a mix)."""
    return split_co2_by_source(co2_kg, mix_shares(mix_kwh))


def _scaled(parts: Mapping[str, float], total: float) -> dict[str, float]:
    """Scale ``parts`` so they sum to ``total`` (their shares applied to an exact total)."""
    s = sum(parts.values())
    return {k: v * total / s for k, v in parts.items()} if s > 0 else {k: 0.0 for k in parts}


def _sum_mix(records: Iterable[Record]) -> dict[str, float]:
    acc: dict[str, float] = defaultdict(float)
    for r in records:
        for k, v in r.mix_kwh.items():
            acc[k] += v
    return {s: acc[s] for s in SOURCES if s in acc}


def is_modelled(provenance: str) -> bool:
    """Provenance labels of modelled (not measured) energy start with ``model``."""
    return provenance.startswith("model")


def _totals(energy_kwh: float, pue: float, co2_kg: float, cost: float | None, duration_s: float,
            mix_kwh: Mapping[str, float]) -> Totals:
    return Totals(
        energy_kwh=energy_kwh,
        facility_energy_kwh=energy_kwh * pue,
        co2_kg=co2_kg,
        cost=cost,
        duration_s=duration_s,
        avg_power_w=avg_power_w(energy_kwh, duration_s),
        renewable_share=share_of(mix_kwh, RENEWABLE_SOURCES),
        low_carbon_share=share_of(mix_kwh, LOW_CARBON_SOURCES),
    )


def is_complete(records: list[Record]) -> bool:
    """True when every record the run emitted was kept (seq 0..n-1, sorted by seq)."""
    return all(r.seq == i for i, r in enumerate(records))


def has_splits(rec: Record) -> bool:
    """True when ``rec`` carries the running splits (every record written since they exist does)."""
    return bool(rec.run_devices_kwh) or not rec.devices


def _stage_summary(stage: str, recs: list[Record], complete: bool) -> StageSummary:
    last = recs[-1]
    counts = {"samples": last.stage_samples, "tokens": last.stage_tokens}
    eff = stage_efficiency(stage, last.stage_energy_kwh, last.stage_co2_kg, counts, len(recs) if complete else None)
    mix = running_mix(last, "stage") if has_splits(last) else _scaled(_sum_mix(recs), last.stage_energy_kwh * last.pue)
    totals = _totals(last.stage_energy_kwh, last.pue, last.stage_co2_kg, last.stage_cost, last.stage_duration_s, mix)
    return {
        "stage": stage,
        **totals,
        "last_step": last.step,
        "epoch": last.epoch,
        "records_kept": len(recs),
        "mix_kwh": mix,
        "co2_by_source_kg": co2_by_source(totals["co2_kg"], mix),
        "samples": last.stage_samples,
        "tokens": last.stage_tokens,
        "efficiency": {u: e.to_json() for u, e in eff.items()},
    }


def _devices(records: list[Record], run_energy_kwh: float) -> list[DeviceSummary]:
    """Per device: exact energy from the latest record's running split (else the kept records' shares of the
    run total), kind and provenance as last recorded, context statistics over the kept records."""
    energy: dict[str, float] = defaultdict(float)
    kind: dict[str, str] = {}
    provenance: dict[str, str] = {}
    context: dict[str, dict[str, ContextAccumulator]] = defaultdict(lambda: defaultdict(ContextAccumulator))
    for r in records:
        for dev_id, d in r.devices.items():
            energy[dev_id] += d.energy_kwh
            kind[dev_id] = d.kind
            provenance[dev_id] = d.provenance
            for key, value in d.context.items():
                context[dev_id][key].add(value, max(r.duration_s, 0.0))
    last = records[-1]
    scaled = dict(last.run_devices_kwh) if has_splits(last) else _scaled(energy, run_energy_kwh)
    return [
        {
            "device": dev_id,
            "kind": kind[dev_id],
            "energy_kwh": scaled.get(dev_id, 0.0),
            "provenance": provenance[dev_id],
            "measured": not is_modelled(provenance[dev_id]),
            "context": {key: asdict(acc.stats()) for key, acc in sorted(context[dev_id].items())},
        }
        for dev_id in sorted(energy)
    ]


def summarize(data: RunData) -> RunSummary:
    """The per-run summary the dashboard shows (JSON-ready; see the module docstring)."""
    records = data.records
    meta = data.metadata
    out: RunSummary = {
        "run": data.run,
        "has_records": bool(records),
        "metadata": _metadata_json(meta),
        "malformed_skipped": data.malformed,
    }
    if not records:
        return out
    last = records[-1]
    stage_records = by_stage(records)
    exact = has_splits(last)
    run_mix = running_mix(last, "run") if exact else _scaled(_sum_mix(records), last.run_energy_kwh * last.pue)
    complete = is_complete(records)
    stages = [_stage_summary(s, rs, complete) for s, rs in stage_records.items()]
    out.update({
        "totals": _totals(last.run_energy_kwh, last.pue, last.run_co2_kg, last.run_cost, last.run_duration_s, run_mix),
        "currency": last.currency,
        "start_time": records[0].start_time,
        "end_time": last.end_time,
        "last_step": max(r.step for r in records),
        "stages": stages,
        "efficiency": headline_efficiency(stages),
        "devices": _devices(records, last.run_energy_kwh),
        "mix_kwh": run_mix,
        "mix_shares": mix_shares(run_mix),
        "co2_by_source_kg": co2_by_source(last.run_co2_kg, run_mix),
        "co2_by_source_factors": load_dataset().factors_source,
        "location": {"zone": last.location, "source": last.location_source,
                     "name": meta.location_name if meta else ""},
        "pue": last.pue,
        "carbon_intensity_g_per_kwh": last.carbon_intensity_g_per_kwh,
        "intensity_source": last.intensity_source,
        "price": {"source": last.price_source, "currency": last.currency,
                  "per_kwh": meta.price_per_kwh if meta else None},
        "dataset": dict(meta.dataset) if meta else {},
        "records_kept": len(records),
        "records_emitted": last.seq + 1,
        "complete": complete,
        "ranges": cast(RunRanges, ranges_json(records)),  # low-high of every total (docs/METHOD.md)
        "splits_exact": exact or complete,
        "footprint": cast(FootprintSummary, footprint_summary(last, [rs[-1] for rs in stage_records.values()],
                                                              getattr(meta, "footprint", None), run_mix)),
    })
    job = job_summary(data, out["devices"])
    if job is not None:
        out["job"] = job
    return out


def headline_efficiency(stages: list[StageSummary]) -> Efficiency | None:
    """The run's headline efficiency: the stage with the most samples (else tokens, else steps), per that unit."""
    for unit in ("sample", "token", "step"):
        found = [s["efficiency"][unit] for s in stages if unit in s["efficiency"]]
        if found:
            return max(found, key=lambda e: e["count"])
    return None


def _metadata_json(meta: Any) -> dict[str, Any] | None:
    return asdict(meta) if meta is not None else None


def headline(summary: RunSummary) -> CompareRow:
    """One row of the run comparison: the totals, per-stage energy and source shares."""
    if not summary.get("has_records"):
        return {"run": summary["run"], "has_records": False}
    footprint = summary["footprint"]
    return {
        "run": summary["run"],
        "has_records": True,
        **summary["totals"],
        "currency": summary["currency"],
        "location": summary["location"]["zone"],
        "pue": summary["pue"],
        "stage_energy_kwh": {s["stage"]: s["energy_kwh"] for s in summary["stages"]},
        "mix_shares": summary["mix_shares"],
        "complete": summary["complete"],
        "efficiency": summary.get("efficiency"),
        "embodied_kg": footprint["embodied_kg"],
        "water_onsite_l": footprint["water_onsite_l"],
        "water_offsite_l": footprint["water_offsite_l"],
    }


def json_safe(value: Any) -> Any:
    """Non-finite floats become None (JSON has no NaN); containers are copied recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
