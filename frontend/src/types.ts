// Shapes of the backend's JSON (greenops_tb/plugin/plugin.py and aggregate.py).

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

export interface StageSummary extends Totals {
  stage: string;
  last_step: number;
  epoch: number;
  records_kept: number;
  mix_kwh: Mix;
  /** The stage's CO₂e split over the grid sources (kg; parts sum to `co2_kg`); absent from older backends. */
  co2_by_source_kg?: Mix;
}

/** One context key of a device over the kept records (aggregate.py's ContextStats). */
export interface ContextStats {
  mean: number | null; // weighted by record duration
  max: number | null;
  last: number | null;
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
  stages: Record<string, { embodied_kg: number | null; water_onsite_l: number | null; water_offsite_l: number | null }>;
}

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
  location?: { zone: string; source: string; name: string };
  pue?: number;
  carbon_intensity_g_per_kwh?: number;
  intensity_source?: string;
  price?: { source: string; currency: string; per_kwh: number | null };
  dataset?: Record<string, string>;
  records_kept?: number;
  records_emitted?: number;
  complete?: boolean;
  footprint?: FootprintSummary;
}

export interface Series {
  step: number[];
  wall_time: number[];
  value: (number | null)[];
}

export interface SeriesResponse {
  run: string;
  stages: Record<string, Record<string, Series>>;
}
