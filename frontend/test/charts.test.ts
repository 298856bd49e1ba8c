import { describe, expect, it } from "vitest";
import { mergeStages } from "../src/aggregate";
import { barsOption, linesOption, mixBarsOption, mixPieOption, runLines, stageLines } from "../src/charts";
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
    expect(o.xAxis.name).toBe("g CO₂e");
    expect(o.series.find((s: Any) => s.name === "Coal").data[0]).toBeCloseTo(1.64, 12);
    expect(o.tooltip.valueFormatter(1.64)).toBe("1.640 g CO₂e");
    const pie = mixPieOption({ coal: 8.2e-4, wind: 1.2e-5 }, "co2") as Any;
    expect(pie.series[0].data.map((d: Any) => d.name)).toEqual(["Coal", "Wind"]);
    expect(pie.tooltip.formatter({ name: "Coal", value: 8.2e-4, percent: 98.56 })).toBe("Coal: 820.0 mg CO₂e (98.6 %)");
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
  it("merges a watched value's records from every stage into one line per run", () => {
    const r: StageSeries = { run: "a", stages: {
      train: { loss: series([0, 1, 2], [3, 2, 1]) }, eval: { loss: series([2], [1], 100.5), acc: series([2], [0.9]) },
    } };
    expect(mergeStages(r, "loss")).toEqual({ step: [0, 1, 2, 2], wall_time: [100, 101, 102, 102.5], value: [3, 2, 1, 1] });
    expect(mergeStages(r, "nothing")).toBeNull();
    const dup: StageSeries = { run: "a", stages: { x: { v: series([1], [5]) }, y: { v: series([1], [5]) } } };
    expect(mergeStages(dup, "v")!.step).toEqual([1]);
    expect(runLines([r, dup], "loss").map((l) => l.name)).toEqual(["a"]);
  });
});
