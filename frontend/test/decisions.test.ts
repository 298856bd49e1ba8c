import { describe, expect, it } from "vitest";
import { efficiencyText, formatCount, formatGrams, formatJoules, rankedPlaces, stageEfficiency } from "../src/sections/decisions";
import type { Efficiency, Place, WhatIfResponse } from "../src/types";

const place = (key: string, co2: number): Place => ({
  key, kind: "zone", zone: key, name: key, country: key, carbon_intensity_g_per_kwh: 1, intensity_source: "ember-2024",
  year: 2024, basis: "production", co2_kg: co2, co2_saving_kg: 0, co2_saving_rel: 0, same_basis: true,
  price_per_kwh: null, currency: "", price_source: "unknown", cost: null, cost_saving: null, cost_saving_rel: null,
  water_offsite_l: null, water_onsite_l: null,
});
const whatif = (cleanest: number[], mine: number): WhatIfResponse => ({
  run: "r", pue: 1, energy_kwh: 1, facility_energy_kwh: 1, this_run: { ...place("DE", mine), kind: "this run" },
  cleanest: cleanest.map((c, i) => place(`Z${i}`, c)), cheapest: [], places: cleanest.length, rank: 1, bases: {}, notes: [], scope: "choices",
});
const eff = (unit: string, j: number | null, g: number | null): Efficiency => ({
  stage: "train", unit, count: 10, energy_kwh: 1, co2_kg: 1, j_per_unit: j, g_per_unit: g, units_per_kwh: 10,
  kj_per_1k: j, g_per_1k: g === null ? null : g * 1000,
});

describe("units of the decision panels", () => {
  it("writes joules, grams and large counts in a readable unit", () => {
    expect(formatJoules(0.003023)).toBe("3.023 mJ");
    expect(formatJoules(12.5)).toBe("12.50 J");
    expect(formatJoules(4500)).toBe("4.500 kJ");
    expect(formatJoules(2.5e-7)).toBe("250.0 nJ");
    expect(formatGrams(0.00041)).toBe("410.0 µg CO2e");
    expect(formatCount(659_700_000)).toBe("659.7 M");
    expect(formatCount(12_000)).toBe("12.00 k");
    expect(formatCount(950)).toBe("950.0");
  });
});

describe("efficiency", () => {
  it("prefers samples, then tokens, then steps, and says when nothing was counted", () => {
    expect(stageEfficiency({ token: eff("token", 1, 1), sample: eff("sample", 2, 2) })?.unit).toBe("sample");
    expect(stageEfficiency({ step: eff("step", 1, 1) })?.unit).toBe("step");
    expect(efficiencyText(eff("sample", 0.5, 0.002))).toBe("500.0 mJ · 2.000 mg CO2e / sample");
    expect(efficiencyText(eff("sample", null, null))).toBe("—");
  });
});

describe("rankedPlaces", () => {
  it("puts this run in its place by CO₂e, or last when every listed place is cleaner", () => {
    expect(rankedPlaces(whatif([1, 2, 5], 3)).map((r) => [r.place.key, r.mine])).toEqual(
      [["Z0", false], ["Z1", false], ["DE", true], ["Z2", false]]);
    expect(rankedPlaces(whatif([1, 2], 9)).at(-1)).toEqual({ place: expect.objectContaining({ key: "DE" }), mine: true });
  });
});
