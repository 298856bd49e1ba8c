// Pure helpers that turn backend summaries into what the dashboard shows.

import {
  LOW_CARBON, RENEWABLE, SOURCES, type Mix, type RunInfo, type RunSummary, type Series, type StageSeries, type Totals,
} from "./types";
import { avgPowerW } from "./units";

/** Combined headline of several runs: sums, with power and shares recomputed from the sums. */
export interface Headline extends Totals {
  currency: string; // "" when the runs mix currencies or none is known
  runs: number;
}

export function sumMix(mixes: Mix[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of mixes) {
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === "number" && Number.isFinite(v)) out[k] = (out[k] ?? 0) + v;
    }
  }
  return out;
}

export function shareOf(mix: Mix, sources: ReadonlySet<string>): number | null {
  let total = 0;
  let part = 0;
  for (const [k, v] of Object.entries(mix)) {
    if (typeof v !== "number") continue;
    total += v;
    if (sources.has(k)) part += v;
  }
  return total > 0 ? part / total : null;
}

export function combineTotals(summaries: RunSummary[]): Headline | null {
  const withData = summaries.filter((s) => s.has_records && s.totals);
  if (withData.length === 0) return null;
  if (withData.length === 1) {
    const s = withData[0];
    return { ...(s.totals as Totals), currency: s.currency ?? "", runs: 1 };
  }
  let energy = 0, facility = 0, co2 = 0, duration = 0;
  let cost: number | null = 0;
  const currencies = new Set(withData.map((s) => s.currency ?? ""));
  for (const s of withData) {
    const t = s.totals as Totals;
    energy += t.energy_kwh;
    facility += t.facility_energy_kwh;
    co2 += t.co2_kg;
    duration += t.duration_s;
    cost = cost === null || t.cost === null ? null : cost + t.cost;
  }
  const currency = currencies.size === 1 ? [...currencies][0] : "";
  if (currencies.size !== 1) cost = null; // never add EUR to USD
  const mix = sumMix(withData.map((s) => s.mix_kwh ?? {}));
  return {
    energy_kwh: energy,
    facility_energy_kwh: facility,
    co2_kg: co2,
    cost,
    duration_s: duration,
    avg_power_w: avgPowerW(energy, duration),
    renewable_share: shareOf(mix, RENEWABLE),
    low_carbon_share: shareOf(mix, LOW_CARBON),
    currency,
    runs: withData.length,
  };
}

/**
 * Everyday equivalents of an amount of CO2e. Factors from the US EPA "Greenhouse Gas Equivalencies Calculator -
 * Calculations and References" (2024 revision, eGRID2022 electricity data):
 * 3.93 x 10^-4 metric tons CO2e per mile driven by an average gasoline-powered passenger vehicle, and
 * 1.24 x 10^-5 metric tons CO2 per smartphone charged. EPA gives no per-km figure: 1 mile = 1.609344 km is ours.
 */
export const KG_CO2_PER_KM_CAR = (3.93e-4 * 1000) / 1.609344;
export const KG_CO2_PER_PHONE_CHARGE = 1.24e-5 * 1000;
export const EQUIVALENTS_SOURCE =
  "US EPA, Greenhouse Gas Equivalencies Calculator – Calculations and References (2024 revision, eGRID2022 data): " +
  "3.93×10⁻⁴ t CO₂e per mile driven by an average gasoline-powered passenger vehicle; " +
  "1.24×10⁻⁵ t CO₂ per smartphone charged";

export interface Equivalents { carKm: number; phoneCharges: number }

export function equivalents(co2Kg: number): Equivalents {
  return { carKm: co2Kg / KG_CO2_PER_KM_CAR, phoneCharges: co2Kg / KG_CO2_PER_PHONE_CHARGE };
}

/**
 * Stage names in display order: top-level stages in the order given, each followed by its nested stages
 * (`train`, `train/forward`, `train/backward`, `eval`), so that a nested stage sits under its parent.
 */
export function orderStages(names: string[]): string[] {
  const rank = new Map<string, number>(); // every path prefix, in order of first appearance
  for (const n of names) {
    const parts = n.split("/");
    parts.forEach((_, i) => {
      const prefix = parts.slice(0, i + 1).join("/");
      if (!rank.has(prefix)) rank.set(prefix, rank.size);
    });
  }
  const cmp = (a: string, b: string): number => {
    const pa = a.split("/");
    const pb = b.split("/");
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const d = rank.get(pa.slice(0, i + 1).join("/"))! - rank.get(pb.slice(0, i + 1).join("/"))!;
      if (d !== 0) return d;
    }
    return pa.length - pb.length;
  };
  return [...names].sort(cmp);
}

/** How deep a stage is nested: `train` 0, `train/forward` 1. */
export const depth = (stage: string): number => stage.split("/").length - 1;

/** Runs whose name contains every whitespace-separated word of `query` (case-insensitive). */
export function filterRuns(runs: RunInfo[], query: string): RunInfo[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((r) => words.every((w) => r.run.toLowerCase().includes(w)));
}

/** Mix entries in display order, dropping sources with no energy. */
export function mixEntries(mix: Mix): [string, number][] {
  return SOURCES.flatMap((s) => {
    const v = mix[s];
    return typeof v === "number" && v > 0 ? ([[s, v]] as [string, number][]) : [];
  });
}

/** What the grid source mix charts split: the facility energy, or the CO₂e. */
export type MixBasis = "energy" | "co2";

/** The split of a run or a stage that `basis` charts: kWh by source, or kg CO₂e by source ({} when unknown). */
export function mixOf(x: { mix_kwh?: Mix; co2_by_source_kg?: Mix }, basis: MixBasis): Mix {
  return (basis === "energy" ? x.mix_kwh : x.co2_by_source_kg) ?? {};
}

export type XAxis = "step" | "wall_time";

/**
 * One history of `metric` from every stage of a run (a watched value is read at the records of each stage):
 * points in wall-time order, one per (step, wall time); null when no stage has it.
 */
export function mergeStages(r: StageSeries, metric: string): Series | null {
  const points = Object.values(r.stages).flatMap((m) => {
    const s = m[metric];
    return s ? s.step.map((step, i) => ({ step, t: s.wall_time[i], v: s.value[i] ?? null })) : [];
  });
  if (points.length === 0) return null;
  points.sort((a, b) => a.t - b.t || a.step - b.step);
  const kept = points.filter((p, i) => i === 0 || p.t !== points[i - 1].t || p.step !== points[i - 1].step);
  return { step: kept.map((p) => p.step), wall_time: kept.map((p) => p.t), value: kept.map((p) => p.v) };
}

/** Chart points `[x, y]` of a series; wall time in ms for a time axis. */
export function seriesPoints(series: Series, x: XAxis): [number, number | null][] {
  const xs = x === "step" ? series.step : series.wall_time.map((t) => t * 1000);
  return xs.map((xv, i) => [xv, series.value[i] ?? null]);
}

/** Ratio of each value to the smallest positive one (1 = best), null where undefined. */
export function ratiosToBest(values: number[]): (number | null)[] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return values.map(() => null);
  const best = Math.min(...positive);
  return values.map((v) => (Number.isFinite(v) ? v / best : null));
}
