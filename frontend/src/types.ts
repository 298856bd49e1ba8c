// Shapes of the backend's JSON: a mirror of greenops_tb/analysis/contract.py (the TypedDicts the routes return).
// tests/test_plugin_contract.py fails when the two drift apart: it writes the routes' real answers and the
// TypedDicts' key sets as typed TypeScript into test/fixtures/ and type-checks them against these interfaces.

export const SOURCES = [
  "coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bioenergy", "other_renewable",
] as const;
export type Source = (typeof SOURCES)[number];
export const RENEWABLE: ReadonlySet<string> = new Set(["hydro", "wind", "solar", "bioenergy", "other_renewable"]);
export const LOW_CARBON: ReadonlySet<string> = new Set([...RENEWABLE, "nuclear"]);

export type Mix = Partial<Record<string, number>>;

export interface RunInfo {
  run: string;
  stages: string[];
  max_step: number;
  max_wall_time: number;
}

/** `/runs` */
export interface RunsResponse {
  runs: RunInfo[];
}

export interface Totals {
  energy_kwh: number;
  facility_energy_kwh: number;
  co2_kg: number;
  cost: number | null;
  duration_s: number;
  avg_power_w: number;
  renewable_share: number | null;
  low_carbon_share: number | null;
}

/** Energy and CO₂e per unit of work (greenops_tb/format/workunits.py); null where nothing was counted. */
export interface Efficiency {
  stage: string;
  unit: string; // "sample" | "token" | "step"
  count: number;
  energy_kwh: number;
  co2_kg: number;
  j_per_unit: number | null;
  g_per_unit: number | null;
  units_per_kwh: number | null;
  kj_per_1k: number | null;
  g_per_1k: number | null;
}

export interface StageSummary extends Totals {
  stage: string;
  last_step: number;
  epoch: number;
  records_kept: number;
  mix_kwh: Mix;
  /** The stage's CO₂e split over the grid sources (kg; parts sum to `co2_kg`); absent from older backends. */
  co2_by_source_kg?: Mix;
  /** Work units counted (update(name, samples=, tokens=)); absent from older backends. */
  samples?: number;
  tokens?: number;
  /** unit -> efficiency ("sample", "token", else "step"). */
  efficiency?: Record<string, Efficiency>;
}

/** A value and its low-high range (docs/METHOD.md). */
export interface Range {
  value: number;
  low: number;
  high: number;
}

export interface Ranges {
  energy_kwh: Range;
  facility_energy_kwh: Range;
  co2_kg: Range;
  cost: Range | null;
}

export interface RangeFactor {
  name: string;
  applies_to: string;
  low: number;
  high: number;
  source: string;
  citation: string;
}

export interface RunRanges {
  totals: Ranges;
  stages: Record<string, Ranges>;
  factors: RangeFactor[];
  rule: string;
}

/** One context key of a device over the kept records (run_summary.py's ContextStats). */
export interface ContextStats {
  mean: number | null; // weighted by record duration
  max: number | null;
  last: number | null;
}

/** One rank of a distributed job (time and CO2e are null for logs of the old rank-0 aggregation). */
export interface RankSummary {
  rank: number;
  host: string;
  energy_kwh: number;
  co2_kg: number | null;
  /** The rank's own run time: a straggler's is longer. */
  duration_s: number | null;
  records: number | null;
  /** How far its latest record is behind the job's latest (stuck or gone when large). */
  behind_s: number | null;
  stage_duration_s: Record<string, number>;
}

export interface HostSummary {
  host: string;
  ranks: number[];
  energy_kwh: number;
}

/** A distributed job: its ranks and hosts (docs/distributed.md). */
export interface JobSummary {
  world_size: number;
  /** "rank-shards", or "rank-0 aggregation" for old job logs. */
  layout: string;
  /** Ranks of the world with no records (yet). */
  missing_ranks: number[];
  ranks: RankSummary[];
  hosts: HostSummary[];
}

export interface DeviceSummary {
  device: string;
  kind: string;
  energy_kwh: number;
  provenance: string;
  measured: boolean;
  /** What the device was doing, by key (e.g. util_pct, mem_used_gb); empty when its source says nothing. */
  context?: Record<string, ContextStats>;
}

/** One part of the hardware a run occupies (a GPU, or the host) and its embodied emissions. */
export interface EmbodiedPart {
  part: string;
  name: string;
  /** This run's amortised share; null: unknown (never 0). */
  embodied_kg: number | null;
  /** The part's figure (kgCO₂e) before amortisation; null: unknown. */
  figure_kgco2e: number | null;
  label: string;
  source: string;
}

/** Embodied emissions and water, beside (never inside) the CO₂e; null means unknown. */
export interface FootprintSummary {
  embodied_kg: number | null;
  water_onsite_l: number | null;
  water_offsite_l: number | null;
  embodied_parts: EmbodiedPart[];
  lifetime_years: number | null;
  utilisation: number | null;
  wue_l_per_kwh: number | null;
  wue_label: string;
  wue_source: string;
  water_offsite_by_source_l: Record<string, number>;
  water_offsite_source: string;
  stages: Record<string, StageFootprint>;
}

/** A stage's footprint totals; null means unknown. */
export interface StageFootprint {
  embodied_kg: number | null;
  water_onsite_l: number | null;
  water_offsite_l: number | null;
}

export interface Location {
  zone: string;
  source: string;
  name: string;
}

export interface Price {
  source: string;
  currency: string;
  per_kwh: number | null;
}

/** `/summary?run=R` */
export interface RunSummary {
  run: string;
  has_records: boolean;
  metadata: Record<string, unknown> | null;
  totals?: Totals;
  currency?: string;
  start_time?: number;
  end_time?: number;
  last_step?: number;
  stages?: StageSummary[];
  devices?: DeviceSummary[];
  mix_kwh?: Mix;
  mix_shares?: Mix;
  co2_by_source_kg?: Mix;
  /** Where the lifecycle factors behind `co2_by_source_kg` come from. */
  co2_by_source_factors?: string;
  location?: Location;
  pue?: number;
  carbon_intensity_g_per_kwh?: number;
  intensity_source?: string;
  price?: Price;
  dataset?: Record<string, string>;
  records_kept?: number;
  records_emitted?: number;
  complete?: boolean;
  /** Low-high ranges of every total; absent from older backends. */
  ranges?: RunRanges;
  /** The headline stage's efficiency (most samples, else tokens, else steps). */
  efficiency?: Efficiency | null;
  /** Records skipped because they are not green records (wrong JSON shape or field types). */
  malformed_skipped?: number;
  splits_exact?: boolean;
  footprint?: FootprintSummary;
  /** A distributed job's ranks and hosts; absent for a single process. */
  job?: JobSummary;
}

export interface Series {
  step: number[];
  wall_time: number[];
  value: (number | null)[];
}

/** A run's series by stage and name (what the line charts draw). */
export interface StageSeries {
  run: string;
  stages: Record<string, Record<string, Series>>;
}

/** `/watched?run=R&points=N`: stage -> watched name -> series. */
export type WatchedResponse = StageSeries;

/** `/series?run=R&points=N`: stage -> metric (one of `metrics`) -> series. */
export interface SeriesResponse extends StageSeries {
  metrics: string[];
}

export interface StageMix {
  stage: string;
  mix_kwh: Mix;
  mix_shares: Mix;
  co2_by_source_kg: Mix;
}

/** `/mix?run=R` */
export interface MixResponse {
  run: string;
  mix_kwh: Mix;
  mix_shares: Mix;
  co2_by_source_kg: Mix;
  stages: StageMix[];
}

/** One run of `/compare`: its totals, per-stage energy and source shares (only `run` and `has_records` without records). */
export interface CompareRow extends Partial<Totals> {
  run: string;
  has_records: boolean;
  currency?: string;
  location?: string;
  pue?: number;
  stage_energy_kwh?: Record<string, number>;
  mix_shares?: Mix;
  complete?: boolean;
  efficiency?: Efficiency | null;
  embodied_kg?: number | null;
  water_onsite_l?: number | null;
  water_offsite_l?: number | null;
}

/** `/compare?run=A&run=B...` */
export interface CompareResponse {
  runs: CompareRow[];
}

/** This run's energy priced at one place (greenops_tb/analysis/elsewhere.py's Place). */
export interface Place {
  key: string;
  kind: string; // "zone" | "cloud" | "this run"
  zone: string;
  name: string;
  country: string;
  carbon_intensity_g_per_kwh: number;
  intensity_source: string;
  year: number | null;
  basis: string;
  co2_kg: number;
  co2_saving_kg: number;
  co2_saving_rel: number | null;
  same_basis: boolean;
  price_per_kwh: number | null;
  currency: string;
  price_source: string;
  cost: number | null;
  cost_saving: number | null;
  cost_saving_rel: number | null;
  /** The place's grid mix x water factors; null: unknown. */
  water_offsite_l: number | null;
  /** Its cloud provider's published WUE x IT energy; null: unknown. */
  water_onsite_l: number | null;
}

/** `/whatif?run=R&top=N&cloud=aws,gcp&pue=P&scope=S`: the same run elsewhere (as `greenops-tb whatif --json`). */
export interface WhatIfResponse {
  run: string;
  pue: number;
  energy_kwh: number;
  facility_energy_kwh: number;
  this_run: Place;
  cleanest: Place[];
  cheapest: Place[];
  places: number;
  rank: number;
  bases: Record<string, number>;
  notes: string[];
  /** "world": every zone and cloud region; "choices": the cloud regions and the zones near this run's. */
  scope: WhatIfScope;
}

/** One variant of an inference bench at one batch size, at a request volume (`greenops-tb inference --json`'s rows). */
export interface InferenceVariant {
  variant: string;
  batch_size: number;
  how: string;
  j_per_request: number;
  j_per_request_low: number;
  j_per_request_high: number;
  j_per_request_repeat_low: number;
  j_per_request_repeat_high: number;
  measurement_rel: number;
  rounds: number;
  requests: number;
  latency_p50_s: number;
  latency_p95_s: number;
  outputs_match: boolean;
  /** null: not comparable (the output shapes differ). */
  max_abs_diff: number | null;
  max_rel_diff: number | null;
  note: string;
  ratio_to_baseline: number | null;
  /** "baseline" | "within noise" | "0.62x" */
  comparison: string;
  recommended: boolean;
  energy_method: string;
  modelled: boolean;
  requests_per_day: number;
  kwh_per_year: number;
  kwh_per_year_low: number;
  kwh_per_year_high: number;
  co2_kg_per_year: number;
  co2_kg_per_year_low: number;
  co2_kg_per_year_high: number;
  cost_per_year: number | null;
  cost_per_year_low: number | null;
  cost_per_year_high: number | null;
  currency: string;
  water_l_per_year: number | null;
  water_l_per_year_low: number | null;
  water_l_per_year_high: number | null;
  compute_hours_per_day: number;
  saving_kwh_per_year: number;
  saving_rel: number | null;
  saving_co2_kg_per_year: number;
  saving_cost_per_year: number | null;
  saving_compute_hours_per_day: number;
}

export interface NotBuiltVariant {
  variant: string;
  how: string;
  reason: string;
}

/** `/inference?run=A&run=B...&requests_per_day=N`: the bench the selected runs are variants of. */
export interface InferenceResponse {
  /** Its directory relative to TensorBoard's logdir ("" = the logdir itself); null: the runs are not one bench's. */
  bench: string | null;
  baseline: string;
  device: string;
  tolerance: string;
  rounds: number;
  requests: number;
  requests_per_day: number;
  variants: InferenceVariant[];
  not_built: NotBuiltVariant[];
  notes: string[];
}

export type WhatIfScope = "world" | "choices";

/** Any route's answer to a bad request (400), an unknown run (404) or unreadable data (503). */
export interface ErrorResponse {
  error: string;
}
