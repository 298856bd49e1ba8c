import { describe, expect, it } from "vitest";
import table from "../../tests/fixtures/format_cases.json";
import {
  chartUnit, formatCharges, formatCo2, formatCost, formatCostExact, formatDeviceContext, formatDistance, formatDuration,
  formatEnergy, formatIn, formatJoules, formatLatency, formatPower, formatShare, perUnit, sig, sourceLabel, tick, watchedUnit, withUnit,
} from "../src/format";

describe("sig", () => {
  it("keeps four significant digits without exponent for everyday magnitudes", () => {
    expect(sig(12.3456)).toBe("12.35");
    expect(sig(0.00012346)).toBe("0.0001235");
    expect(sig(1234567)).toBe("1235000");
    expect(sig(1)).toBe("1.000");
  });
  it("switches to exponent notation for tiny values and handles zero and non-finite", () => {
    expect(sig(1.23456e-9)).toBe("1.235e-9");
    expect(sig(0)).toBe("0");
    expect(sig(NaN)).toBe("—");
    expect(sig(Infinity)).toBe("—");
  });
});

describe("units", () => {
  it("scales energy from kWh to the readable SI unit", () => {
    expect(formatEnergy(0.0021071)).toBe("2.107 Wh");
    expect(formatEnergy(3.5)).toBe("3.500 kWh");
    expect(formatEnergy(1500)).toBe("1.500 MWh");
    expect(formatEnergy(2.5e6)).toBe("2.500 GWh");
    expect(formatEnergy(2.804e-6)).toBe("2.804 mWh");
    expect(formatEnergy(2e-7)).toBe("200.0 µWh");
    expect(formatEnergy(3.211e-9)).toBe("3.211 µWh");
    expect(formatEnergy(0)).toBe("0 µWh");
    expect(formatEnergy(NaN)).toBe("—");
  });
  it("moves to the larger unit when rounding reaches it", () => {
    expect(formatEnergy(0.99996)).toBe("1.000 kWh");
    expect(formatEnergy(0.9999)).toBe("999.9 Wh");
  });
  it("scales CO2 mass, power and distance", () => {
    expect(formatCo2(0.000883)).toBe("883.0 mg CO2e");
    expect(formatCo2(8.369e-7)).toBe("836.9 µg CO2e");
    expect(formatCo2(2.5)).toBe("2.500 kg CO2e");
    expect(formatCo2(1234)).toBe("1.234 t CO2e");
    expect(formatPower(46.74)).toBe("46.74 W");
    expect(formatPower(1250)).toBe("1.250 kW");
    expect(formatPower(0.5)).toBe("500.0 mW");
    expect(formatDistance(3.43e-6)).toBe("3.43 mm");
    expect(formatDistance(0.25)).toBe("250 m");
    expect(formatDistance(12.54)).toBe("12.5 km");
  });
});

describe("cost", () => {
  it("never invents a cost", () => {
    expect(formatCost(null, "EUR")).toBe("unknown");
    expect(formatCost(undefined, "EUR")).toBe("unknown");
    expect(formatCost(0.25, "")).toBe("0.25 (currency unknown)");
  });
  it("shows at least 2 decimals and 3 significant digits, with thousands separators", () => {
    expect(formatCost(0.25, "EUR")).toBe("0.25 EUR");
    expect(formatCost(0.2534, "EUR")).toBe("0.253 EUR");
    expect(formatCost(0.0534, "USD")).toBe("0.0534 USD");
    expect(formatCost(12.3456, "EUR")).toBe("12.35 EUR");
    expect(formatCost(1234.5, "EUR")).toBe("1,234.50 EUR");
    expect(formatCost(0, "EUR")).toBe("0.00 EUR");
  });
  it("says '< 0.01' under a cent, with the exact amount for a tooltip", () => {
    expect(formatCost(6.37e-7, "EUR")).toBe("< 0.01 EUR");
    expect(formatCost(0.00999, "EUR")).toBe("< 0.01 EUR");
    expect(formatCost(0.01, "EUR")).toBe("0.01 EUR");
    expect(formatCostExact(6.37e-7, "EUR")).toBe("6.370e-7 EUR");
    expect(formatCostExact(0.25, "EUR")).toBe("0.2500 EUR");
    expect(formatCostExact(null, "EUR")).toBe("unknown");
  });
});

describe("chart units", () => {
  it("picks one SI unit from the chart's largest value", () => {
    expect(chartUnit("energy", 2.4e-6)).toEqual({ factor: 1e-6, unit: "mWh" });
    expect(chartUnit("energy", 2.4e-7)).toEqual({ factor: 1e-9, unit: "µWh" });
    expect(chartUnit("energy", 12)).toEqual({ factor: 1, unit: "kWh" });
    expect(chartUnit("co2", 8.4e-7)).toEqual({ factor: 1e-9, unit: "µg CO2e" });
    expect(chartUnit("power", 11.3)).toEqual({ factor: 1, unit: "W" });
    expect(chartUnit("energy", 0)).toEqual({ factor: 1e-9, unit: "µWh" });
  });
  it("keeps the currency for cost, scaled by a power of ten below a cent", () => {
    expect(chartUnit("cost", 6.37e-7, "EUR")).toEqual({ factor: 1e-7, unit: "×10⁻⁷ EUR" });
    expect(chartUnit("cost", 0.0042, "USD")).toEqual({ factor: 1e-3, unit: "×10⁻³ USD" });
    expect(chartUnit("cost", 3.5, "EUR")).toEqual({ factor: 1, unit: "EUR" });
    expect(chartUnit("cost", 0, "")).toEqual({ factor: 1, unit: "(currency unknown)" });
    expect(chartUnit("plain", 1e-9)).toEqual({ factor: 1, unit: "" });
  });
  it("formats ticks without float noise and tooltip values with the unit", () => {
    expect(tick(0.30000000000000004)).toBe("0.3");
    expect(tick(2500)).toBe("2500");
    expect(tick(NaN)).toBe("");
    expect(withUnit(2.3456, "mWh")).toBe("2.346 mWh");
    expect(withUnit(0.5, "")).toBe("0.5000");
  });
});

describe("everyday quantities", () => {
  it("counts smartphone charges with 2-3 significant digits", () => {
    expect(formatCharges(67.54)).toBe("67.5 smartphone charges");
    expect(formatCharges(1)).toBe("1.00 smartphone charge");
    expect(formatCharges(0.123)).toBe("12 % of a smartphone charge");
    expect(formatCharges(0.0456)).toBe("4.6 % of a smartphone charge");
    expect(formatCharges(6.75e-5)).toBe("1/14,800 of a smartphone charge");
    expect(formatCharges(0)).toBe("0 smartphone charges");
  });
  it("formats durations and shares", () => {
    expect(formatDuration(12.345)).toBe("12.35 s");
    expect(formatDuration(162)).toBe("2m 42s");
    expect(formatDuration(3723)).toBe("1h 02m 03s");
    expect(formatShare(0.58)).toBe("58.0 %");
    expect(formatShare(null)).toBe("unknown");
    expect(sourceLabel("other_renewable")).toBe("Other renewable");
  });
});

describe("formatDeviceContext", () => {
  const stats = (mean: number | null, max: number | null, last: number | null) => ({ mean, max, last });
  it("shows mean utilisation, memory at the end and its peak when higher", () => {
    expect(formatDeviceContext({ util_pct: stats(86.6, 99, 80), mem_used_gb: stats(12.2, 12.5, 12.0) }))
      .toBe("util 87 %, mem 12.0 GB (peak 12.5 GB)");
  });
  it("leaves the peak out when it reads as the last value", () => {
    expect(formatDeviceContext({ mem_used_gb: stats(12.0, 12.04, 12.01) })).toBe("mem 12.0 GB");
  });
  it("leaves out keys the device does not report and non-finite values", () => {
    expect(formatDeviceContext({ util_pct: stats(42.4, 60, 40) })).toBe("util 42 %");
    expect(formatDeviceContext({ util_pct: stats(null, null, null), mem_used_gb: stats(3, 3, 3) })).toBe("mem 3.0 GB");
    expect(formatDeviceContext({})).toBe("");
    expect(formatDeviceContext(undefined)).toBe("");
  });
  it("shows other keys by name after utilisation and memory, sorted", () => {
    expect(formatDeviceContext({ temp_c: stats(61.25, 70, 65), util_pct: stats(5, 9, 1), clock_mhz: stats(1410, 1410, 1410) }))
      .toBe("util 5 %, clock_mhz 1410, temp_c 61.3");
  });
});

describe("the shared table (tests/fixtures/format_cases.json, also checked against greenops_tb/display.py)", () => {
  const cases = table.cases as [string, unknown[], string][];
  const fns: Record<string, (...args: never[]) => string> = {
    sig, formatEnergy, formatCo2, formatPower, formatCost, formatDuration, formatShare, formatJoules, formatLatency,
  };
  it("has cases for every shared formatter", () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(Object.keys(fns)));
  });
  for (const [fn, args, want] of cases) {
    it(`${fn}(${args.map((a) => JSON.stringify(a)).join(", ")}) = ${want}`, () => {
      expect((fns[fn] as (...a: unknown[]) => string)(...args)).toBe(want);
    });
  }
});

describe("one unit per quantity in a view", () => {
  it("writes any value in the unit the view picked from its total", () => {
    const u = chartUnit("energy", 8.39e-4); // the card: 839.0 mWh
    expect(u.unit).toBe("mWh");
    expect(formatIn(1.33e-3, u)).toBe("1330 mWh"); // a range's high end stays in the card's unit
    expect(formatIn(2.5e-7, u)).toBe("0.2500 mWh");
    expect(formatIn(NaN, u)).toBe("—");
    expect(formatIn(4.1e-6, chartUnit("co2", 5e-6))).toBe("4.100 mg CO2e");
  });
  it("labels joules per unit of work and watched values by their names", () => {
    expect(perUnit(0.003, "sample")).toEqual({ factor: 1e-3, unit: "mJ / sample" });
    expect(perUnit(NaN, "token").unit).toBe("nJ / token");
    expect(formatJoules(0.003023)).toBe("3.023 mJ");
    expect(watchedUnit("data_wait_s", 0.2)).toEqual({ factor: 1, unit: "s" });
    expect(watchedUnit("step_ms", 12).unit).toBe("ms");
    expect(watchedUnit("gpu_kwh", 2e-3).unit).toBe("Wh");
    expect(watchedUnit("gpu_util_pct", 80).unit).toBe("%");
    expect(watchedUnit("loss", 2.3)).toEqual({ factor: 1, unit: "" });
  });
});
