"""The Green tab's response contract: what each route answers, as ``TypedDict``s.

``frontend/src/types.ts`` mirrors these names and keys; ``tests/test_plugin_contract.py``
fails when the two drift apart (it type-checks the routes' real answers and these key
sets against the TypeScript interfaces). Non-finite floats go out as ``null``.
"""
from __future__ import annotations

from typing import Any, TypedDict

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


class Efficiency(TypedDict):
    """Energy and CO2e per unit of work (greenops_tb.format.workunits); None where nothing was counted."""

    stage: str
    unit: str  # "sample" | "token" | "step"
    count: float
    energy_kwh: float
    co2_kg: float
    j_per_unit: float | None
    g_per_unit: float | None
    units_per_kwh: float | None
    kj_per_1k: float | None
    g_per_1k: float | None


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


class Range(TypedDict):
    value: float
    low: float
    high: float


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


class ContextStats(TypedDict):
    mean: float | None
    max: float | None
    last: float | None


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


class Place(TypedDict):
    """This run's energy priced at one place (greenops_tb.analysis.elsewhere.Place)."""

    key: str
    kind: str  # "zone" | "cloud" | "this run"
    zone: str
    name: str
    country: str
    carbon_intensity_g_per_kwh: float
    intensity_source: str
    year: int | None
    basis: str
    co2_kg: float
    co2_saving_kg: float
    co2_saving_rel: float | None
    same_basis: bool
    price_per_kwh: float | None
    currency: str
    price_source: str
    cost: float | None
    cost_saving: float | None
    cost_saving_rel: float | None
    water_offsite_l: float | None  # the place's grid mix x water factors; None = unknown
    water_onsite_l: float | None  # its cloud provider's published WUE x IT energy; None = unknown


class WhatIfResponse(TypedDict):
    """``/whatif?run=R&top=N&cloud=aws,gcp&pue=1.1``: the same run elsewhere, as ``greenops-tb whatif --json``."""

    run: str
    pue: float
    energy_kwh: float
    facility_energy_kwh: float
    this_run: Place
    cleanest: list[Place]
    cheapest: list[Place]
    places: int
    rank: int
    bases: dict[str, int]
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
}
