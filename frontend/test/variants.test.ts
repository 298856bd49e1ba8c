import { describe, expect, it } from "vitest";
import { joulesOption } from "../src/sections/variants";
import type { InferenceVariant } from "../src/types";

const variant = (name: string, j: number, low: number, high: number, extra: Partial<InferenceVariant> = {}): InferenceVariant => ({
  variant: name, batch_size: 1, how: "", j_per_request: j, j_per_request_low: low, j_per_request_high: high,
  j_per_request_repeat_low: j, j_per_request_repeat_high: j, measurement_rel: 0.1, rounds: 3, requests: 30,
  latency_p50_s: 0.001, latency_p95_s: 0.002, outputs_match: true, max_abs_diff: 0, max_rel_diff: 0, note: "",
  ratio_to_baseline: 1, comparison: "baseline", recommended: false, energy_method: "cpu:0=rapl", modelled: false,
  requests_per_day: 1e6, kwh_per_year: 1, kwh_per_year_low: 1, kwh_per_year_high: 1, co2_kg_per_year: 1,
  co2_kg_per_year_low: 1, co2_kg_per_year_high: 1, cost_per_year: null, cost_per_year_low: null, cost_per_year_high: null,
  currency: "", water_l_per_year: null, water_l_per_year_low: null, water_l_per_year_high: null,
  compute_hours_per_day: 1, saving_kwh_per_year: 0, saving_rel: 0, saving_co2_kg_per_year: 0, saving_cost_per_year: null,
  saving_compute_hours_per_day: 0, ...extra,
});

type Bars = { data: (number | { value: number; itemStyle: { color: string } })[] }[];

describe("the J per request chart", () => {
  it("draws each mean as a bar and its range as a whisker from low to high, in one unit picked from the highest", () => {
    const rows = [variant("eager", 0.004, 0.003, 0.006, { recommended: true }),
      variant("bf16", 0.002, 0.0015, 0.0025, { outputs_match: false })];
    const opt = joulesOption(rows, ["eager", "bf16"]) as { xAxis: { name: string }; series: Bars };
    expect(opt.xAxis.name).toBe("mJ");
    const [bars, base, whisker] = opt.series;
    expect(bars.data.map((d) => (typeof d === "number" ? d : d.value))).toEqual([4, 2]);
    expect(base.data).toEqual([3, 1.5]);
    expect((whisker.data as number[]).map((x) => Number(x.toFixed(9)))).toEqual([3, 1]);
    const colors = bars.data.map((d) => (typeof d === "number" ? "" : d.itemStyle.color));
    expect(colors[0]).not.toBe(colors[1]); // recommended and outputs-differ bars differ
  });
});
