import { describe, expect, it } from "vitest";
import { combineFootprint } from "../src/footprint";
import { formatEmbodied, formatWater } from "../src/format";
import type { FootprintSummary, RunSummary } from "../src/types";

function run(name: string, embodied: number | null, onsite: number | null): RunSummary {
  const footprint: FootprintSummary = {
    embodied_kg: embodied, water_onsite_l: onsite, water_offsite_l: 0.5, embodied_parts: [], lifetime_years: 6,
    utilisation: 0.85, wue_l_per_kwh: onsite === null ? null : 0.18, wue_label: "", wue_source: "",
    water_offsite_by_source_l: {}, water_offsite_source: "", stages: {},
  };
  return { run: name, has_records: true, metadata: null, footprint };
}

describe("combineFootprint", () => {
  it("adds the known values and counts the runs that do not know", () => {
    const c = combineFootprint([run("a", 0.002, null), run("b", 0.003, 1.5), run("c", null, 2.5)], "embodied_kg");
    expect(c.value).toBeCloseTo(0.005, 15);
    expect([c.unknownRuns, c.runs]).toEqual([1, 3]);
    expect(combineFootprint([run("a", 0.002, null), run("b", 0.003, 1.5)], "water_onsite_l").value).toBe(1.5);
  });
  it("is unknown (null), never 0, when no run knows", () => {
    expect(combineFootprint([run("a", null, null)], "embodied_kg")).toEqual({ value: null, unknownRuns: 1, runs: 1 });
    expect(combineFootprint([], "water_offsite_l").value).toBeNull();
  });
});

describe("formatWater and formatEmbodied", () => {
  it("pick a unit from the magnitude and say unknown for null", () => {
    expect(formatWater(1.2346)).toBe("1.235 L");
    expect(formatWater(0.0456)).toBe("45.60 mL");
    expect(formatWater(3.2e-6)).toBe("3.200 µL");
    expect(formatWater(null)).toBe("unknown");
    expect(formatEmbodied(0.02133)).toBe("21.33 g CO2e");
    expect(formatEmbodied(undefined)).toBe("unknown");
  });
});
