import { describe, expect, it } from "vitest";
import {
  combineTotals, depth, equivalents, filterRuns, KG_CO2_PER_KM_CAR, KG_CO2_PER_PHONE_CHARGE, mixEntries, mixOf, orderStages,
  ratiosToBest, seriesPoints, shareOf, sumMix,
} from "../src/aggregate";
import { csvCell, toCsv } from "../src/csv";
import { LOW_CARBON, RENEWABLE, type RunSummary } from "../src/types";

function summary(run: string, energy: number, co2: number, cost: number | null, duration: number, currency = "EUR",
  mix: Record<string, number> = { coal: energy / 2, wind: energy / 2 }): RunSummary {
  return {
    run, has_records: true, metadata: null, currency, mix_kwh: mix,
    totals: {
      energy_kwh: energy, facility_energy_kwh: energy, co2_kg: co2, cost, duration_s: duration,
      avg_power_w: (energy * 3.6e6) / duration, renewable_share: 0.5, low_carbon_share: 0.5,
    },
  };
}

describe("combineTotals", () => {
  it("returns a single run's totals unchanged", () => {
    const s = summary("a", 1, 0.4, 0.3, 3600);
    expect(combineTotals([s])).toEqual({ ...s.totals, currency: "EUR", runs: 1 });
  });
  it("sums runs and recomputes power and shares from the sums", () => {
    const t = combineTotals([
      summary("a", 1, 0.4, 0.3, 3600, "EUR", { coal: 1 }),
      summary("b", 3, 0.2, 0.1, 3600, "EUR", { wind: 2, nuclear: 1 }),
    ])!;
    expect(t.energy_kwh).toBe(4);
    expect(t.co2_kg).toBeCloseTo(0.6, 12);
    expect(t.cost).toBeCloseTo(0.4, 12);
    expect(t.avg_power_w).toBeCloseTo((4 * 3.6e6) / 7200, 9);
    expect(t.renewable_share).toBeCloseTo(0.5, 12);
    expect(t.low_carbon_share).toBeCloseTo(0.75, 12);
    expect(t.runs).toBe(2);
  });
  it("never adds different currencies or unknown costs", () => {
    expect(combineTotals([summary("a", 1, 1, 1, 1, "EUR"), summary("b", 1, 1, 1, 1, "USD")])!.cost).toBeNull();
    expect(combineTotals([summary("a", 1, 1, 1, 1), summary("b", 1, 1, null, 1)])!.cost).toBeNull();
  });
  it("is null without records", () => {
    expect(combineTotals([{ run: "x", has_records: false, metadata: null }])).toBeNull();
  });
});

describe("mix helpers", () => {
  it("sums mixes and computes shares", () => {
    const m = sumMix([{ coal: 1, wind: 1 }, { wind: 2, solar: NaN }]);
    expect(m).toEqual({ coal: 1, wind: 3 });
    expect(shareOf(m, RENEWABLE)).toBe(0.75);
    expect(shareOf({}, LOW_CARBON)).toBeNull();
  });
  it("orders entries like the backend's SOURCES and drops empty ones", () => {
    expect(mixEntries({ wind: 2, coal: 1, oil: 0 })).toEqual([["coal", 1], ["wind", 2]]);
  });
});

describe("equivalents", () => {
  it("uses the EPA factors (2024 revision), checked against the published figures", () => {
    // US EPA Greenhouse Gas Equivalencies Calculator, Calculations and References (2024 revision):
    // 3.93 x 10^-4 t CO2e per mile driven by an average gasoline passenger vehicle; 1.24 x 10^-5 t CO2 per
    // smartphone charged. 1 mile = 1.609344 km exactly (international mile). Expected values computed by hand.
    expect(KG_CO2_PER_KM_CAR).toBeCloseTo(0.24420, 5); // 393 g per mile = 244.20 g per km
    expect(KG_CO2_PER_PHONE_CHARGE).toBeCloseTo(0.0124, 12);
    expect(equivalents(0.393).carKm).toBeCloseTo(1.609344, 6); // one mile's CO2e: one mile, in km
    expect(equivalents(1).carKm).toBeCloseTo(4.0950, 4); // 1 kg = 2.5445 miles = 4.0950 km
    expect(equivalents(1).phoneCharges).toBeCloseTo(80.645, 3); // 1 kg / 12.4 g
    expect(equivalents(0.0124).phoneCharges).toBeCloseTo(1, 12);
  });
});

describe("orderStages", () => {
  it("puts nested stages under their parent, keeping first-seen order", () => {
    expect(orderStages(["train/forward", "train", "eval", "train/backward", "eval/metrics", "train/forward/attn"]))
      .toEqual(["train", "train/forward", "train/forward/attn", "train/backward", "eval", "eval/metrics"]);
    expect(orderStages(["b", "a"])).toEqual(["b", "a"]);
    expect(orderStages([])).toEqual([]);
  });
  it("orders 12 flat stages as given and measures depth", () => {
    const many = Array.from({ length: 12 }, (_, i) => `stage${11 - i}`);
    expect(orderStages(many)).toEqual(many);
    expect(depth("train")).toBe(0);
    expect(depth("train/forward/attn")).toBe(2);
  });
});

describe("filterRuns", () => {
  const runs = ["exp1/lr=0.1", "exp1/lr=0.01", "exp2/baseline"].map((run) => ({ run, stages: [], max_step: 0, max_wall_time: 0 }));
  it("matches every word, case-insensitively", () => {
    expect(filterRuns(runs, "EXP1 0.01").map((r) => r.run)).toEqual(["exp1/lr=0.01"]);
    expect(filterRuns(runs, "  ").length).toBe(3);
    expect(filterRuns(runs, "nothing").length).toBe(0);
  });
});

describe("series and ratios", () => {
  it("maps steps or wall times (to ms) to points", () => {
    const s = { step: [1, 2], wall_time: [10, 11], value: [0.5, null] };
    expect(seriesPoints(s, "step")).toEqual([[1, 0.5], [2, null]]);
    expect(seriesPoints(s, "wall_time")).toEqual([[10000, 0.5], [11000, null]]);
  });
  it("compares to the best positive value", () => {
    expect(ratiosToBest([2, 4, 0])).toEqual([1, 2, 0]);
    expect(ratiosToBest([0, 0])).toEqual([null, null]);
  });
});

describe("csv", () => {
  it("quotes per RFC 4180 and neutralises formulas", () => {
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvCell("-1+2")).toBe("'-1+2");
    expect(csvCell(-1.5)).toBe("-1.5");
    expect(csvCell(null)).toBe("");
    expect(csvCell(NaN)).toBe("nan");
    expect(toCsv([["a", 1], ["line\nbreak", null]])).toBe('a,1\r\n"line\nbreak",\r\n');
  });

  it("neutralises fullwidth formula leads too", () => {
    for (const lead of ["\uff1d", "\uff0b", "\uff0d", "\uff20"]) {
      expect(csvCell(`${lead}HYPERLINK("x")`)).toBe(`"'${lead}HYPERLINK(""x"")"`);
      expect(csvCell(`${lead}1`)).toBe(`'${lead}1`);
    }
    expect(csvCell("a\uff1d1")).toBe("a\uff1d1");
  });
});

describe("mixOf", () => {
  it("picks the energy or the CO2e split, {} when the backend sent none", () => {
    const st = { mix_kwh: { coal: 2, wind: 6 }, co2_by_source_kg: { coal: 1.64e-3, wind: 7.2e-5 } };
    expect(mixOf(st, "energy")).toBe(st.mix_kwh);
    expect(mixOf(st, "co2")).toBe(st.co2_by_source_kg);
    expect(mixOf({ mix_kwh: { coal: 1 } }, "co2")).toEqual({});
    expect(mixOf({}, "energy")).toEqual({});
  });
});
