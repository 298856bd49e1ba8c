"""The Green tab's response contract: what each route answers, as ``TypedDict``s.

``frontend/src/types.ts`` mirrors these names and keys; ``tests/test_plugin_contract.py``
fails when the two drift apart (it type-checks the routes' real answers and these key
sets against the TypeScript interfaces). Non-finite floats go out as ``null``.

Results that are values of the analysis (:class:`~greenops_tb.format.workunits.Efficiency`,
:class:`~greenops_tb.analysis.uncertainty.Range`, :class:`~greenops_tb.analysis.context.ContextStats`,
:class:`~greenops_tb.analysis.elsewhere.Place` and :class:`~greenops_tb.analysis.elsewhere.WhatIf`) are defined
once, as those dataclasses: their JSON forms here are derived from the dataclasses' fields (:func:`json_form`).
"""
from __future__ import annotations

import dataclasses
import functools
import operator
import types
import typing
from typing import TYPE_CHECKING, Any, TypedDict

from greenops_tb.analysis import context, elsewhere, uncertainty
from greenops_tb.format import workunits

#: dataclass -> the TypedDict of its JSON form
JSON_FORMS: dict[type, type] = {}


def _json_type(tp: Any) -> Any:
    """A dataclass field's type in JSON: dataclasses as their JSON forms, also inside lists, dicts and unions."""
    if isinstance(tp, type) and tp in JSON_FORMS:
        return JSON_FORMS[tp]
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return functools.reduce(operator.or_, map(_json_type, args))
    if typing.get_origin(tp) in (list, dict):
        return typing.get_origin(tp)[tuple(map(_json_type, args))]
    return tp


def json_form(cls: type, name: str = "", computed: tuple[str, ...] = ()) -> type:
    """The TypedDict of dataclass ``cls`` as JSON: its fields, then the ``computed`` properties its JSON adds."""
    hints = typing.get_type_hints(cls)
    keys = {f.name: _json_type(hints[f.name]) for f in dataclasses.fields(cls)}
    keys.update({p: typing.get_type_hints(getattr(cls, p).fget)["return"] for p in computed})
    form = TypedDict(name or cls.__name__, keys)  # type: ignore[misc]  # a name known at run time
    JSON_FORMS[cls] = form
    return form


if TYPE_CHECKING:  # a type checker takes the derived forms as JSON objects
    Efficiency = dict[str, Any]
    Range = dict[str, Any]
    ContextStats = dict[str, Any]
    Place = dict[str, Any]
    WhatIfResponse = dict[str, Any]
else:
    Efficiency = json_form(workunits.Efficiency, computed=workunits.Efficiency.JSON_PROPERTIES)
    Range = json_form(uncertainty.Range)
    ContextStats = json_form(context.ContextStats)
    Place = json_form(elsewhere.Place)
    #: ``/whatif?run=R&top=N&cloud=aws,gcp&pue=1.1``: the same run elsewhere, as ``greenops-tb whatif --json``
    WhatIfResponse = json_form(elsewhere.WhatIf, "WhatIfResponse")

#: energy (kWh), shares or CO2 (kg) per grid source, only sources with a value
Mix = dict[str, float]


class RunInfo(TypedDict):
    run: str
    stages: list[str]
    max_step: int
    max_wall_time: float


class RunsResponse(TypedDict):
    """``/runs``"""

    runs: list[RunInfo]


class Totals(TypedDict):
    """Headline numbers of a run or a stage."""

    energy_kwh: float
    facility_energy_kwh: float
    co2_kg: float
    cost: float | None
    duration_s: float
    avg_power_w: float
    renewable_share: float | None
    low_carbon_share: float | None


class StageSummary(Totals):
    stage: str
    last_step: int
    epoch: int
    records_kept: int
    mix_kwh: Mix
    co2_by_source_kg: Mix
    samples: int
    tokens: int
    efficiency: dict[str, Efficiency]  # unit -> efficiency


class Ranges(TypedDict):
    energy_kwh: Range
    facility_energy_kwh: Range
    co2_kg: Range
    cost: Range | None


class RangeFactor(TypedDict):
    name: str
    applies_to: str  # "energy" | "pue" | "grid"
    low: float
    high: float
    source: str
    citation: str


class RunRanges(TypedDict):
    """Low-high ranges (docs/METHOD.md) of the run's totals and of each stage's."""

    totals: Ranges
    stages: dict[str, Ranges]
    factors: list[RangeFactor]
    rule: str


class DeviceSummary(TypedDict):
    device: str
    kind: str
    energy_kwh: float
    provenance: str
    measured: bool
    context: dict[str, ContextStats]


class RankSummary(TypedDict):
    """One rank of a distributed job (time and CO2e are None for jobs of the old rank-0 aggregation)."""

    rank: int
    host: str
    energy_kwh: float
    co2_kg: float | None
    duration_s: float | None  # the rank's own run time: a straggler's is longer
    records: int | None
    behind_s: float | None  # how far its latest record is behind the job's latest (stuck or gone when large)
    stage_duration_s: dict[str, float]


class HostSummary(TypedDict):
    host: str
    ranks: list[int]
    energy_kwh: float


class JobSummary(TypedDict):
    """A distributed job's ranks and hosts (``summary["job"]``, absent for a single process)."""

    world_size: int
    layout: str  # "rank-shards", or "rank-0 aggregation" for old job logs
    missing_ranks: list[int]  # ranks of the world with no records (yet)
    ranks: list[RankSummary]
    hosts: list[HostSummary]


class Location(TypedDict):
    zone: str
    source: str
    name: str


class Price(TypedDict):
    source: str
    currency: str
    per_kwh: float | None


class EmbodiedPart(TypedDict):
    """One part of the hardware a run occupies (a GPU, or the host); None means unknown (never 0)."""

    part: str
    name: str
    embodied_kg: float | None  # this run's amortised share
    figure_kgco2e: float | None  # the part's figure before amortisation
    label: str
    source: str


class StageFootprint(TypedDict):
    embodied_kg: float | None
    water_onsite_l: float | None
    water_offsite_l: float | None


class FootprintSummary(StageFootprint):
    """Embodied emissions and water, beside (never inside) the CO2e (:mod:`greenops_tb.footprint.view`)."""

    embodied_parts: list[EmbodiedPart]
    lifetime_years: float | None
    utilisation: float | None
    wue_l_per_kwh: float | None
    wue_label: str
    wue_source: str
    water_offsite_by_source_l: Mix
    water_offsite_source: str
    stages: dict[str, StageFootprint]


class _RunSummaryBase(TypedDict):
    run: str
    has_records: bool
    metadata: dict[str, Any] | None
    malformed_skipped: int  # records skipped: not green records (wrong JSON shape or field types)


class RunSummary(_RunSummaryBase, total=False):
    """``/summary?run=R``: only the base keys when the run has no records yet."""

    totals: Totals
    currency: str
    start_time: float
    end_time: float
    last_step: int
    stages: list[StageSummary]
    devices: list[DeviceSummary]
    mix_kwh: Mix
    mix_shares: Mix
    co2_by_source_kg: Mix
    co2_by_source_factors: str
    location: Location
    pue: float
    carbon_intensity_g_per_kwh: float
    intensity_source: str
    price: Price
    dataset: dict[str, str]
    records_kept: int
    records_emitted: int
    complete: bool  # every record kept: the series are at full resolution
    ranges: RunRanges
    efficiency: Efficiency | None  # the headline stage's (most samples, else tokens, else steps)
    splits_exact: bool  # the device and source splits are exact (always, for records that carry running splits)
    footprint: FootprintSummary
    job: JobSummary  # distributed jobs only


class Series(TypedDict):
    step: list[int]
    wall_time: list[float]
    value: list[float | None]


class StageSeries(TypedDict):
    """A run's series by stage and name."""

    run: str
    stages: dict[str, dict[str, Series]]


#: ``/watched?run=R&points=N``: stage -> watched name -> series
WatchedResponse = StageSeries


class SeriesResponse(StageSeries):
    """``/series?run=R&points=N``: stage -> metric (one of ``metrics``) -> series."""

    metrics: list[str]


class StageMix(TypedDict):
    stage: str
    mix_kwh: Mix
    mix_shares: Mix
    co2_by_source_kg: Mix


class MixResponse(TypedDict):
    """``/mix?run=R``"""

    run: str
    mix_kwh: Mix
    mix_shares: Mix
    co2_by_source_kg: Mix
    stages: list[StageMix]


class _CompareRowBase(TypedDict):
    run: str
    has_records: bool


class CompareRow(_CompareRowBase, total=False):
    """One run of ``/compare``: the totals' fields, per-stage energy and source shares (when it has records)."""

    energy_kwh: float
    facility_energy_kwh: float
    co2_kg: float
    cost: float | None
    duration_s: float
    avg_power_w: float
    renewable_share: float | None
    low_carbon_share: float | None
    currency: str
    location: str
    pue: float
    stage_energy_kwh: dict[str, float]
    mix_shares: Mix
    complete: bool
    efficiency: Efficiency | None
    embodied_kg: float | None  # beside co2_kg, never in it
    water_onsite_l: float | None
    water_offsite_l: float | None


class CompareResponse(TypedDict):
    """``/compare?run=A&run=B...``"""

    runs: list[CompareRow]


class InferenceVariant(TypedDict):
    """One variant of an inference bench at one batch size, projected to a request volume
    (greenops_tb.analysis.inference.projection_json; ``greenops-tb inference --json``'s rows). J, s, kWh, kg, L."""

    variant: str
    batch_size: int
    how: str
    j_per_request: float
    j_per_request_low: float
    j_per_request_high: float
    j_per_request_repeat_low: float
    j_per_request_repeat_high: float
    measurement_rel: float
    rounds: int
    requests: int
    latency_p50_s: float
    latency_p95_s: float
    outputs_match: bool
    max_abs_diff: float | None  # None: not comparable (shapes differ)
    max_rel_diff: float | None
    note: str
    ratio_to_baseline: float | None
    comparison: str  # "baseline" | "within noise" | "0.62x"
    recommended: bool
    energy_method: str
    modelled: bool
    requests_per_day: float
    kwh_per_year: float
    kwh_per_year_low: float
    kwh_per_year_high: float
    co2_kg_per_year: float
    co2_kg_per_year_low: float
    co2_kg_per_year_high: float
    cost_per_year: float | None
    cost_per_year_low: float | None
    cost_per_year_high: float | None
    currency: str
    water_l_per_year: float | None
    water_l_per_year_low: float | None
    water_l_per_year_high: float | None
    compute_hours_per_day: float
    saving_kwh_per_year: float
    saving_rel: float | None
    saving_co2_kg_per_year: float
    saving_cost_per_year: float | None
    saving_compute_hours_per_day: float


class NotBuiltVariant(TypedDict):
    variant: str
    how: str
    reason: str


class InferenceResponse(TypedDict):
    """``/inference?run=A&run=B...&requests_per_day=N``: the bench the selected runs belong to, as
    ``greenops-tb inference --json``; ``bench`` None (and no variants) when they are not one bench's variants."""

    bench: str | None  # its directory, relative to TensorBoard's logdir ("" = the logdir itself)
    baseline: str
    device: str
    tolerance: str
    rounds: int
    requests: int
    requests_per_day: float
    variants: list[InferenceVariant]
    not_built: list[NotBuiltVariant]
    notes: list[str]


class ErrorResponse(TypedDict):
    """Any route's answer to a bad request (400), an unknown run (404) or unreadable data (503)."""

    error: str


#: route -> the TypedDict it answers (the contract test walks this)
RESPONSES: dict[str, type] = {
    "/runs": RunsResponse,
    "/summary": RunSummary,
    "/series": SeriesResponse,
    "/mix": MixResponse,
    "/compare": CompareResponse,
    "/watched": WatchedResponse,
    "/whatif": WhatIfResponse,
    "/inference": InferenceResponse,
}
