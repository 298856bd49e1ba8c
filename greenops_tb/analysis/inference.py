"""An inference bench's results: J per request with ranges, latency, outputs and the comparison with the baseline.

Input: the bench's manifest (:mod:`greenops_tb.format.bench`) and each variant's records. Per variant and batch
size, from the records of stage ``infer_b<batch>`` (one per round):

* ``j_per_request``: the rounds' IT energy / their requests, in J (the stage's running totals);
* its range combines, in quadrature, the measurement's relative half-width (the device term of
  :mod:`greenops_tb.analysis.uncertainty`) and the repeat spread (the lowest and highest round);
* ``comparison`` with the baseline (the first variant): "within noise" when the repeat ranges of the two overlap,
  else the ratio. The measurement's own error is left out of this test: every variant ran interleaved on the same
  meter, so that error is shared and cancels in the ratio; the repeat spread is the noise between them;
* ``outputs_match``: from the manifest (compared under the stated tolerance); a variant whose outputs differ is
  flagged and never recommended.

``recommended`` per batch size: the variant with the least J per request whose outputs match and which is cheaper
than the baseline beyond noise; else the baseline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from greenops_tb.analysis.projection import PerKwh, Yearly, yearly
from greenops_tb.analysis.uncertainty import Range, device_factors, grid_factors, pue_factor, zone_basis
from greenops_tb.format.bench import BatchEntry, BenchManifest, stage_of
from greenops_tb.format.schema import Record
from greenops_tb.format.units import J_PER_KWH

WITHIN_NOISE = "within noise"
BASELINE = "baseline"


@dataclass(frozen=True, slots=True)
class VariantResult:
    """One variant at one batch size."""

    variant: str
    batch_size: int
    how: str
    j_per_request: Range  # measurement and repeat spread
    repeat: Range  # the rounds' spread only: (mean, lowest round, highest round)
    measurement_rel: float  # the meter's relative half-width
    rounds: int
    requests: int  # timed requests, all rounds
    latency_p50_s: float
    latency_p95_s: float
    outputs_match: bool
    max_abs_diff: float
    max_rel_diff: float
    note: str
    ratio: float  # J per request / the baseline's
    comparison: str  # "baseline", "within noise", "0.62x", "3.01x"
    energy_method: str  # provenance of the records, e.g. "cpu:0=model-tdp;ram=model-rss"
    modelled: bool  # energy from a model (TDP x CPU time ...), not from counters
    per_kwh: PerKwh
    recommended: bool = False


@dataclass(frozen=True, slots=True)
class NotBuilt:
    variant: str
    how: str
    reason: str


@dataclass(frozen=True, slots=True)
class Projected:
    """A variant at a request volume, and what it saves against the baseline (positive = less)."""

    result: VariantResult
    requests_per_day: float
    year: Yearly
    saving_kwh_per_year: float
    saving_rel: float
    saving_co2_kg_per_year: float
    saving_cost_per_year: float | None
    saving_compute_hours_per_day: float


@dataclass(frozen=True, slots=True)
class BenchResult:
    """Every variant's result (in the manifest's order, per batch size) and the variants not built."""

    variants: list[VariantResult]
    not_built: list[NotBuilt]
    baseline: str
    tolerance: str
    device: str
    rounds: int
    requests: int
    notes: list[str] = field(default_factory=list)

    def at_scale(self, requests_per_day: float) -> list[Projected]:
        """Every variant at ``requests_per_day`` (see :mod:`greenops_tb.analysis.projection`)."""
        out = []
        base = {v.batch_size: v for v in self.variants if v.variant == self.baseline}
        for v in self.variants:
            year = yearly(v.j_per_request, v.latency_p50_s, v.batch_size, requests_per_day, v.per_kwh)
            b = base[v.batch_size]
            by = yearly(b.j_per_request, b.latency_p50_s, b.batch_size, requests_per_day, b.per_kwh)
            cost = None if year.cost is None or by.cost is None else by.cost.value - year.cost.value
            saved = by.kwh.value - year.kwh.value
            out.append(Projected(v, float(requests_per_day), year, saved,
                                 saved / by.kwh.value if by.kwh.value > 0 else math.nan,
                                 by.co2_kg.value - year.co2_kg.value, cost,
                                 by.compute_hours_per_day - year.compute_hours_per_day))
        return out

    def recommended(self, batch_size: int | None = None) -> VariantResult:
        """The recommended variant at ``batch_size`` (default: the first batch size)."""
        rows = [v for v in self.variants if batch_size in (None, v.batch_size) and v.recommended]
        if not rows:
            raise ValueError(f"no results at batch size {batch_size}")
        return rows[0]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), NaN for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _per_kwh(records: Sequence[Record]) -> PerKwh:
    kwh = sum(r.energy_kwh for r in records)
    last = records[-1]
    costs = [r.cost for r in records]
    water = [w for r in records for w in (r.water_onsite_l, r.water_offsite_l) if w is not None]
    pue = pue_factor(last.pue)
    grid = grid_factors(last.intensity_source, last.location_source, zone_basis(last.location), last.end_time)
    g_low = math.sqrt(sum(f.low ** 2 for f in grid))
    g_high = math.sqrt(sum(f.high ** 2 for f in grid))

    def per(x: float) -> float:
        return x / kwh if kwh > 0 else 0.0

    return PerKwh(
        co2_kg=per(sum(r.co2_kg for r in records)) if kwh > 0 else last.pue * last.carbon_intensity_g_per_kwh / 1e3,
        cost=None if any(c is None for c in costs) else per(sum(c for c in costs if c is not None)),
        currency=last.currency,
        water_l=per(sum(water)) if water else None,
        facility_rel=(pue.low, pue.high),
        co2_rel=(math.hypot(pue.low, g_low), math.hypot(pue.high, g_high)),
    )


def _measure(variant: str, how: str, entry: BatchEntry, records: Sequence[Record]) -> VariantResult:
    rounds = [r for r in records if r.stage == stage_of(entry.batch_size) and r.samples > 0]
    if not rounds:
        raise ValueError(f"variant {variant!r}: its run has no records of stage {stage_of(entry.batch_size)!r}")
    per_round = [r.energy_kwh * J_PER_KWH / r.samples for r in rounds]
    # the stage's running totals: exact even where TensorBoard kept only a sample of the rounds' records
    requests = rounds[-1].stage_samples
    mean = rounds[-1].stage_energy_kwh * J_PER_KWH / requests
    u, _ = device_factors(rounds)
    if mean > 0:
        r_low = math.hypot(u, 1 - min(per_round) / mean)
        r_high = math.hypot(u, max(per_round) / mean - 1)
    else:
        r_low = r_high = 0.0
    labels = sorted({f"{k}={d.provenance}" for r in rounds for k, d in r.devices.items()})
    return VariantResult(
        variant=variant, batch_size=entry.batch_size, how=how,
        j_per_request=Range(mean, max(0.0, mean * (1 - r_low)), mean * (1 + r_high)),
        repeat=Range(mean, min(per_round), max(per_round)), measurement_rel=u, rounds=len(rounds),
        requests=requests, latency_p50_s=percentile(entry.latencies_s, 50),
        latency_p95_s=percentile(entry.latencies_s, 95), outputs_match=entry.outputs_match,
        max_abs_diff=entry.max_abs_diff, max_rel_diff=entry.max_rel_diff, note=entry.note,
        ratio=math.nan, comparison="", energy_method=";".join(labels),
        modelled=any(d.provenance.startswith("model") for r in rounds for d in r.devices.values()),
        per_kwh=_per_kwh(rounds),
    )


def _compare(v: VariantResult, base: VariantResult) -> VariantResult:
    ratio = v.j_per_request.value / base.j_per_request.value if base.j_per_request.value > 0 else math.nan
    if v is base:
        text = BASELINE
    elif v.repeat.low <= base.repeat.high and base.repeat.low <= v.repeat.high:
        text = WITHIN_NOISE
    else:
        text = f"{ratio:.2f}x"
    return replace(v, ratio=ratio, comparison=text)


def _recommend(rows: list[VariantResult]) -> list[VariantResult]:
    better = [v for v in rows[1:] if v.outputs_match and v.comparison not in (BASELINE, WITHIN_NOISE) and v.ratio < 1]
    pick = min(better, key=lambda v: v.j_per_request.value) if better else rows[0]
    return [replace(v, recommended=v is pick) for v in rows]


def bench_result(manifest: BenchManifest, records: Mapping[str, Sequence[Record]]) -> BenchResult:
    """The bench's results from its manifest and each built variant's records (variant name -> records)."""
    built = [v for v in manifest.variants if v.built]
    if not built or built[0].name != manifest.baseline:
        reason = manifest.variants[0].reason
        raise ValueError(f"the baseline variant {manifest.baseline!r} was not built ({reason}): nothing to compare")
    rows: list[VariantResult] = []
    for b in manifest.batch_sizes:
        group = [_measure(v.name, v.how, e, records.get(v.name, ())) for v in built for e in v.batches
                 if e.batch_size == b]
        group = [_compare(v, group[0]) for v in group]
        rows += _recommend(group)
    notes = []
    if any(v.modelled for v in rows):
        notes.append("energy is model-based (e.g. CPU TDP x this process's CPU time), not measured by counters; "
                     "ratios between variants are meaningful, absolute joules are an estimate")
    return BenchResult(rows, [NotBuilt(v.name, v.how, v.reason) for v in manifest.variants if not v.built],
                       manifest.baseline, manifest.tolerance.text(), manifest.device, manifest.rounds,
                       manifest.requests, notes)


def projection_json(p: Projected) -> dict[str, Any]:
    """One variant at a request volume as flat JSON (the ``inference --json`` row; raw SI numbers)."""
    v, y = p.result, p.year

    def rng(name: str, r: Range | None) -> dict[str, float | None]:
        if r is None:
            return {name: None, f"{name}_low": None, f"{name}_high": None}
        return {name: r.value, f"{name}_low": r.low, f"{name}_high": r.high}

    return {
        "variant": v.variant, "batch_size": v.batch_size, "how": v.how,
        **rng("j_per_request", v.j_per_request),
        "j_per_request_repeat_low": v.repeat.low, "j_per_request_repeat_high": v.repeat.high,
        "measurement_rel": v.measurement_rel, "rounds": v.rounds, "requests": v.requests,
        "latency_p50_s": v.latency_p50_s, "latency_p95_s": v.latency_p95_s,
        "outputs_match": v.outputs_match, "max_abs_diff": v.max_abs_diff, "max_rel_diff": v.max_rel_diff,
        "note": v.note, "ratio_to_baseline": v.ratio, "comparison": v.comparison, "recommended": v.recommended,
        "energy_method": v.energy_method, "modelled": v.modelled, "requests_per_day": p.requests_per_day,
        **rng("kwh_per_year", y.kwh), **rng("co2_kg_per_year", y.co2_kg), **rng("cost_per_year", y.cost),
        "currency": v.per_kwh.currency, **rng("water_l_per_year", y.water_l),
        "compute_hours_per_day": y.compute_hours_per_day,
        "saving_kwh_per_year": p.saving_kwh_per_year, "saving_rel": p.saving_rel,
        "saving_co2_kg_per_year": p.saving_co2_kg_per_year, "saving_cost_per_year": p.saving_cost_per_year,
        "saving_compute_hours_per_day": p.saving_compute_hours_per_day,
    }


def no_bench_json(requests_per_day: float) -> dict[str, Any]:
    """What :func:`result_json` gives for runs that are not one bench's variants (``bench`` None, nothing else)."""
    return {"bench": None, "baseline": "", "device": "", "tolerance": "", "rounds": 0, "requests": 0,
            "requests_per_day": float(requests_per_day), "variants": [], "not_built": [], "notes": []}


def result_json(result: BenchResult, requests_per_day: float) -> dict[str, Any]:
    """The whole bench at a request volume: ``variants`` (rows of :func:`projection_json`), ``not_built``..."""
    return {
        "baseline": result.baseline, "device": result.device, "tolerance": result.tolerance,
        "rounds": result.rounds, "requests": result.requests, "requests_per_day": float(requests_per_day),
        "variants": [projection_json(p) for p in result.at_scale(requests_per_day)],
        "not_built": [{"variant": n.variant, "how": n.how, "reason": n.reason} for n in result.not_built],
        "notes": list(result.notes),
    }
