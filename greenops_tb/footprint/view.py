"""The footprint part of a run's summary (the Green tab's cards and breakdown, ``greenops-tb summary``).

Built from the kept records' running totals (exact whatever TensorBoard kept) and the run metadata's
``footprint`` entry (every part's figure, label and source). Per part, the run's embodied total is split by
the parts' figures: every part of a run is occupied for the same time, so that split is exact.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from greenops_tb import display
from greenops_tb.footprint.tables import water_table


def _split(total: float | None, weights: Mapping[str, float]) -> dict[str, float]:
    """``total`` split in proportion to ``weights`` (empty when either is unknown or zero)."""
    s = sum(weights.values())
    if total is None or s <= 0:
        return {}
    return {k: total * w / s for k, w in weights.items()}


def footprint_summary(last: Any, stage_lasts: Sequence[Any], meta: Mapping[str, Any] | None,
                      run_mix_kwh: Mapping[str, float]) -> dict[str, Any]:
    """``last``: the run's latest record; ``stage_lasts``: each stage's latest record; ``meta``: the run
    metadata's ``footprint`` dict (None or empty for runs written before it existed)."""
    meta = meta or {}
    embodied = meta.get("embodied", {})
    water = meta.get("water", {})
    parts = embodied.get("parts", {})
    known = {k: p["kgco2e"] for k, p in parts.items() if p.get("kgco2e") is not None}
    by_part = _split(last.run_embodied_kg, known)
    factors = water_table().offsite
    offsite_by_source = _split(last.run_water_offsite_l,
                               {s: kwh * factors[s].l_per_kwh for s, kwh in run_mix_kwh.items() if s in factors})
    return {
        "embodied_kg": last.run_embodied_kg,
        "water_onsite_l": last.run_water_onsite_l,
        "water_offsite_l": last.run_water_offsite_l,
        "embodied_parts": [
            {"part": k, "name": p.get("name", ""), "embodied_kg": by_part.get(k), "figure_kgco2e": p.get("kgco2e"),
             "label": p.get("label", "unknown"), "source": p.get("source", "")}
            for k, p in parts.items()
        ],
        "lifetime_years": embodied.get("lifetime_years"),
        "utilisation": embodied.get("utilisation"),
        "wue_l_per_kwh": water.get("wue_l_per_kwh"),
        "wue_label": water.get("wue_label", "unknown"),
        "wue_source": water.get("wue_source", ""),
        "water_offsite_by_source_l": offsite_by_source,
        "water_offsite_source": water.get("offsite_source", water_table().offsite_source),
        "stages": {r.stage: {"embodied_kg": r.stage_embodied_kg, "water_onsite_l": r.stage_water_onsite_l,
                             "water_offsite_l": r.stage_water_offsite_l} for r in stage_lasts},
    }


def _mass(kg: float | None) -> str:
    return "unknown" if kg is None else display.format_co2(kg)


def footprint_lines(f: Mapping[str, Any]) -> list[str]:
    """The summary's text lines: embodied CO2e with its parts, then water on-site and off-site."""
    parts = ", ".join(f"{p['part']} {_mass(p['embodied_kg'])}" + ("" if p["label"] == "unknown" else f" ({p['label']})")
                      for p in f["embodied_parts"])
    lines = [f"embodied CO2e (beside, not in, CO2): {_mass(f['embodied_kg'])}"
             + (f" = {parts}" if parts else "")
             + (f"; lifetime {f['lifetime_years']:g} y, utilisation {f['utilisation']:.0%}"
                if f.get("lifetime_years") else "")]
    wue = f.get("wue_l_per_kwh")
    wue_text = f"WUE {wue:g} L/kWh, {f['wue_label']}" if wue is not None else "WUE unknown: pass wue="
    lines.append(f"water on-site: {display.format_volume(f['water_onsite_l'])} ({wue_text}); "
                 f"off-site: {display.format_volume(f['water_offsite_l'])} (grid mix x Macknick et al. 2012 factors)")
    return lines


def footprint_citations(f: Mapping[str, Any]) -> list[str]:
    """The publications behind a run's footprint figures (for a report's data sources), each once."""
    out = [p["source"] for p in f.get("embodied_parts", []) if p.get("label", "unknown") not in ("unknown", "argument")]
    if f.get("wue_l_per_kwh") is not None and f.get("wue_label") != "argument":
        out.append(f"WUE: {f['wue_source']}")
    if f.get("water_offsite_l") is not None:
        out.append(f"Water consumption factors: {f.get('water_offsite_source') or water_table().offsite_source}")
    return list(dict.fromkeys(out))
