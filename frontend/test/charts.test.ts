import { describe, expect, it } from "vitest";
import { barsOption, linesOption, mixBarsOption, mixPieOption, stageLines } from "../src/charts";
import { RUN_COLORS } from "../src/styles";
import type { Series, StageSeries } from "../src/types";

// The option builders are plain data: read back what ECharts would draw.
type Any = any;

const series = (step: number[], value: number[], t0 = 100): Series => ({ step, wall_time: step.map((s) => t0 + s), value });

describe("one unit per chart", () => {
  it("scales the mix bars to the unit of the largest bar", () => {
    const o = mixBarsOption([{ label: "run", mix: { coal: 1.5e-6, wind: 1e-6 } }, { label: "run / eval", mix: { coal: 2e-7 } }]) as Any;
    expect(o.xAxis.name).toBe("mWh");
    const coal = o.series.find((s: Any) => s.name === "Coal");
    expect(coal.data[0]).toBeCloseTo(1.5, 12);
    expect(coal.data[1]).toBeCloseTo(0.2, 12);
    expect(o.tooltip.valueFormatter(1.5)).toBe("1.500 mWh");
  });
  it("draws the CO2e split in a mass unit", () => {
    const o = mixBarsOption([{ label: "run", mix: { coal: 1.64e-3, wind: 7.2e-5 } }], "co2") as Any;
    expect(o.xAxis.name).toBe("g CO2e");
    expect(o.series.find((s: Any) => s.name === "Coal").data[0]).toBeCloseTo(1.64, 12);
    expect(o.tooltip.valueFormatter(1.64)).toBe("1.640 g CO2e");
    const pie = mixPieOption({ coal: 8.2e-4, wind: 1.2e-5 }, "co2") as Any;
    expect(pie.series[0].data.map((d: Any) => d.name)).toEqual(["Coal", "Wind"]);
    expect(pie.tooltip.formatter({ name: "Coal", value: 8.2e-4, percent: 98.56 })).toBe("Coal: 820.0 mg CO2e (98.6 %)");
    expect((mixPieOption({ coal: 2e-3 }) as Any).tooltip.formatter({ name: "Coal", value: 2e-3, percent: 100 }))
      .toBe("Coal: 2.000 Wh (100.0 %)");
  });
  it("colours stage bars by run and labels the axis", () => {
    const o = barsOption(["a / train", "b / train"], [2e-3, 5e-4], "energy", [0, 1]) as Any;
    expect(o.xAxis.name).toBe("Wh");
    expect(o.series[0].data.map((d: Any) => d.value)).toEqual([2, 0.5]);
    expect(o.series[0].data.map((d: Any) => d.itemStyle.color)).toEqual([RUN_COLORS[0], RUN_COLORS[1]]);
  });
  it("draws a sub-cent cost in its currency times a power of ten", () => {
    const r: StageSeries = { run: "a", stages: { train: { cost: series([0, 1], [1e-7, 6.4e-7]) } } };
    const o = linesOption(stageLines([r], "cost", ["train"]), "step", "cost", "EUR") as Any;
    expect(o.yAxis.name).toBe("×10⁻⁷ EUR");
    expect(o.series[0].data[1][1]).toBeCloseTo(6.4, 12);
    expect(o.series[0].name).toBe("train");
  });
});

describe("axes", () => {
  it("names every axis with its unit, inside the canvas", () => {
    const r: StageSeries = { run: "a", stages: { train: { energy_kwh: series([0, 4], [1e-4, 2e-3]) } } };
    const card = { factor: 1e-6, unit: "mWh" }; // the view's unit wins over the chart's own pick (Wh)
    const o = linesOption(stageLines([r], "energy_kwh", ["train"]), "step", "energy", "", card) as Any;
    expect([o.xAxis.name, o.yAxis.name]).toEqual(["step", "mWh"]);
    expect(o.series[0].data[1][1]).toBeCloseTo(2000, 9);
    expect((linesOption(stageLines([r], "energy_kwh", ["train"]), "wall_time", "energy") as Any).xAxis.name).toBe("time");
    for (const opt of [o, barsOption(["a"], [1], "co2", [], { factor: 1e-6, unit: "mg CO2e" }), mixBarsOption([])] as Any[]) {
      expect(opt.grid).toMatchObject({ outerBoundsMode: "same", outerBoundsContain: "all" });
      expect(opt.grid.containLabel).toBeUndefined(); // ECharts 6: it would leave the axis names out
    }
    expect((barsOption(["a"], [1], "co2", [], { factor: 1e-6, unit: "mg CO2e" }) as Any).xAxis.name).toBe("mg CO2e");
  });
});

describe("lines", () => {
  const a: StageSeries = { run: "a", stages: { eval: { e: series([4], [1]) }, train: { e: series([0, 4], [1, 2]) } } };
  const b: StageSeries = { run: "b", stages: { train: { e: series([0, 4], [1, 3]) }, eval: { e: series([4], [2]) } } };
  it("gives a stage the same dash in every run and a run one colour", () => {
    const lines = stageLines([a, b], "e", ["train", "eval"]);
    expect(lines.map((l) => [l.name, l.run, l.dash])).toEqual([
      ["a / train", 0, 0], ["a / eval", 0, 1], ["b / train", 1, 0], ["b / eval", 1, 1],
    ]);
    const o = linesOption(lines, "step", "energy") as Any;
    expect(o.series.map((s: Any) => s.lineStyle.type)).toEqual(["solid", "dashed", "solid", "dashed"]);
    expect(o.series.map((s: Any) => s.lineStyle.color)).toEqual([RUN_COLORS[0], RUN_COLORS[0], RUN_COLORS[1], RUN_COLORS[1]]);
  });
  it("lets ECharts colour the lines of a single run", () => {
    const o = linesOption(stageLines([a], "e", ["train", "eval"]), "step", "energy") as Any;
    expect(o.series.map((s: Any) => s.lineStyle.color)).toEqual([undefined, undefined]);
  });
  it("draws a watched value per stage, each line in step order", () => {
    const r: StageSeries = { run: "a", stages: {
      train: { loss: series([0, 1, 2], [3, 2, 1]) }, eval: { loss: series([2], [1], 100.5), acc: series([2], [0.9]) },
    } };
    const lines = stageLines([r], "loss", ["train", "eval"]);
    expect(lines.map((l) => l.name)).toEqual(["train", "eval"]);
    expect(stageLines([r], "nothing", ["train", "eval"])).toEqual([]);
    const back: StageSeries = { run: "a", stages: { train: { loss: { step: [0, 5, 3, 7], wall_time: [1, 2, 3, 4],
      value: [1, 2, 3, 4] } } } };
    const o = linesOption(stageLines([back], "loss", ["train"]), "step", "plain") as Any;
    expect(o.series[0].data.map((p: number[]) => p[0])).toEqual([0, 3, 5, 7]);
    expect(o.series[0].data.map((p: number[]) => p[1])).toEqual([1, 3, 2, 4]);
  });
});
