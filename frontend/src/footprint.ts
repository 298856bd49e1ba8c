// The footprint beside operational CO₂e (embodied emissions of the hardware, water): combining runs.
// Unknown (null) is never read as 0: a sum over runs is null when no run knows it, and says how many did not.

import type { FootprintSummary, RunSummary } from "./types";

export type FootprintMetric = "embodied_kg" | "water_onsite_l" | "water_offsite_l";
export const FOOTPRINT_METRICS: FootprintMetric[] = ["embodied_kg", "water_onsite_l", "water_offsite_l"];

/** A footprint total over runs: the sum of the known values, and how many runs did not know it. */
export interface Combined { value: number | null; unknownRuns: number; runs: number }

export function combineFootprint(summaries: RunSummary[], metric: FootprintMetric): Combined {
  const withData = summaries.filter((s) => s.has_records && s.footprint);
  let value: number | null = null;
  let unknownRuns = 0;
  for (const s of withData) {
    const x = (s.footprint as FootprintSummary)[metric];
    if (x == null) unknownRuns += 1;
    else value = (value ?? 0) + x;
  }
  return { value, unknownRuns, runs: withData.length };
}
