import { describe, expect, it } from "vitest";
import { formatCo2, formatCost, formatDuration, formatEnergy, formatPower, formatShare, sig, sourceLabel } from "../src/format";

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
  it("scales energy from kWh to the readable unit", () => {
    expect(formatEnergy(0.0021071)).toBe("2.107 Wh");
    expect(formatEnergy(3.5)).toBe("3.500 kWh");
    expect(formatEnergy(1500)).toBe("1.500 MWh");
    expect(formatEnergy(2e-7)).toBe("0.2000 mWh");
  });
  it("scales CO2 mass and power", () => {
    expect(formatCo2(0.000883)).toBe("883.0 mg CO₂e");
    expect(formatCo2(2.5)).toBe("2.500 kg CO₂e");
    expect(formatPower(46.74)).toBe("46.74 W");
    expect(formatPower(1250)).toBe("1.250 kW");
  });
  it("never invents a cost", () => {
    expect(formatCost(null, "EUR")).toBe("unknown");
    expect(formatCost(0.25, "EUR")).toBe("0.2500 EUR");
    expect(formatCost(0.25, "")).toBe("0.2500 (currency unknown)");
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
