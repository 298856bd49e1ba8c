// ECharts (tree-shaken, canvas renderer) and the option builders of each chart.
// Tooltips use renderMode "richText" so names are drawn on the canvas, never parsed as HTML.

import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, DataZoomComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { mixEntries, orderStages, seriesPoints, type MixBasis, type XAxis } from "./aggregate";
import { chartUnit, formatCo2, formatEnergy, formatIn, sourceLabel, tick, withUnit, type Kind, type Unit } from "./format";
import { RUN_COLORS } from "./styles";
import { SOURCES, type Mix, type Series, type StageSeries } from "./types";

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export type Option = echarts.EChartsCoreOption;

export const SOURCE_COLORS: Record<string, string> = {
  coal: "#4d4d4d", gas: "#e07b39", oil: "#8c564b", nuclear: "#9467bd", hydro: "#1f77b4",
  wind: "#17becf", solar: "#f2c12e", bioenergy: "#2ca02c", other_renewable: "#98df8a",
};

const TOOLTIP = { renderMode: "richText", confine: true } as const;

/** Height in px of a horizontal bar chart with `rows` bars (so 20 stages stay readable). */
export const barsHeight = (rows: number, extra = 0): number => Math.max(160, 48 + extra + rows * 26);

/** Plot area `left, right, top, bottom` px from the chart's edges, axis labels and axis names inside it: nothing
 * is clipped at the canvas edge (ECharts 6's `outerBounds`; `containLabel` left the axis names out). */
const grid = (left: number, right: number, top: number, bottom: number) =>
  ({ left, right, top, bottom, outerBoundsMode: "same", outerBoundsContain: "all" });
const valueAxis = (u: Unit) => ({
  type: "value", name: u.unit, nameLocation: "middle", nameGap: 26,
  axisLabel: { formatter: (v: number) => tick(v), hideOverlap: true },
});
const categoryAxis = (labels: string[]) => ({
  type: "category", data: labels, inverse: true, axisTick: { show: false },
  axisLabel: { width: 240, overflow: "truncate" },
});
const maxOf = (values: Iterable<number | null | undefined>): number => {
  let m = 0;
  for (const v of values) if (typeof v === "number" && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
};
const scaleBy = (v: number | null | undefined, u: Unit): number | null =>
  typeof v === "number" && Number.isFinite(v) ? v / u.factor : null;

/**
 * Stacked horizontal bars: one bar per label (a run, or a run's stage), one segment per grid source, in one unit of
 * energy (kWh given) or of CO₂e (kg given) as `basis` says: `unit`, else one picked from the largest bar.
 */
export function mixBarsOption(rows: { label: string; mix: Mix }[], basis: MixBasis = "energy", unit?: Unit): Option {
  const u = unit ?? chartUnit(basis, maxOf(rows.map((r) => SOURCES.reduce((t, s) => t + (r.mix[s] ?? 0), 0))));
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "item", valueFormatter: (v: unknown) => withUnit(Number(v), u.unit) },
    legend: { top: 0, itemWidth: 14, itemHeight: 10 },
    grid: grid(8, 24, 56, 4),
    xAxis: valueAxis(u),
    yAxis: categoryAxis(rows.map((r) => r.label)),
    series: SOURCES.map((s) => ({
      name: sourceLabel(s),
      type: "bar",
      stack: "mix",
      barMaxWidth: 18,
      itemStyle: { color: SOURCE_COLORS[s] },
      data: rows.map((r) => scaleBy(r.mix[s] ?? 0, u)),
    })),
  };
}

/** A ring of the grid sources' shares of `mix` (kWh, or kg CO₂e for basis "co2"), in `unit` when given. */
export function mixPieOption(mix: Mix, basis: MixBasis = "energy", unit?: Unit): Option {
  const format = unit ? (x: number) => formatIn(x, unit) : basis === "energy" ? formatEnergy : formatCo2;
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "item", formatter: (p: { name: string; value: number; percent: number }) =>
      `${p.name}: ${format(p.value)} (${p.percent.toFixed(1)} %)` },
    series: [{
      type: "pie",
      radius: ["42%", "68%"],
      minShowLabelAngle: 18, // slices under 5 %: in the tooltip and the bars, not as crowded labels
      label: { formatter: (p: { name: string; percent: number }) => `${p.name} ${p.percent.toFixed(1)} %` },
      data: mixEntries(mix).map(([s, v]) => ({ name: sourceLabel(s), value: v, itemStyle: { color: SOURCE_COLORS[s] } })),
    }],
  };
}

/** Horizontal bars of one quantity (`kind`, in its base unit), one colour per run (`runOf[i]` indexes `RUN_COLORS`),
 * in `unit` (else one picked from the largest value). */
export function barsOption(labels: string[], values: number[], kind: Kind, runOf: number[] = [], unit?: Unit): Option {
  const u = unit ?? chartUnit(kind, maxOf(values));
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "item", valueFormatter: (v: unknown) => withUnit(Number(v), u.unit) },
    grid: grid(8, 24, 8, 4),
    xAxis: valueAxis(u),
    yAxis: categoryAxis(labels),
    series: [{
      type: "bar",
      barMaxWidth: 18,
      data: values.map((v, i) => ({ value: scaleBy(v, u), itemStyle: { color: RUN_COLORS[(runOf[i] ?? 0) % RUN_COLORS.length] } })),
    }],
  };
}

const DASHES = ["solid", "dashed", "dotted"];

/** A chart line: a series, its run's index (its colour when several runs are shown) and its dash. */
export interface Line { name: string; s: Series; run: number; dash: number }

/**
 * The lines of `metric` (a green metric, or a watched value's name), one per (run, stage) that has it; stages in
 * `stageOrder` (the stage table's order), so that a stage has the same dash in every run.
 */
export function stageLines(series: StageSeries[], metric: string, stageOrder: string[]): Line[] {
  return series.flatMap((r, run) => orderStages(Object.keys(r.stages))
    .sort((a, b) => rankIn(stageOrder, a) - rankIn(stageOrder, b))
    .flatMap((stage) => {
      const s = r.stages[stage][metric];
      const name = series.length > 1 ? `${r.run} / ${stage}` : stage;
      return s ? [{ name, s, run, dash: rankIn(stageOrder, stage) }] : [];
    }));
}
const rankIn = (order: string[], x: string): number => (order.includes(x) ? order.indexOf(x) : order.length);

/**
 * Lines over step or wall time in `unit`, else one picked from the largest value. Several runs: a run's lines share
 * its colour (as in the stage bars and table), its stages differ by dash; one run: a colour per line.
 */
export function linesOption(lines: Line[], x: XAxis, kind: Kind, currency = "", unit?: Unit): Option {
  const u = unit ?? chartUnit(kind, maxOf(lines.flatMap((l) => l.s.value)), currency);
  const runs = new Set(lines.map((l) => l.run)).size;
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "axis", valueFormatter: (v: unknown) => withUnit(Number(v), u.unit) },
    legend: { type: "scroll", top: 0 },
    grid: grid(8, 24, 40, 32),
    xAxis: { type: x === "step" ? "value" : "time", name: x === "step" ? "step" : "time", nameLocation: "middle",
      nameGap: 26, max: "dataMax" },
    yAxis: { type: "value", scale: kind === "plain", name: u.unit, nameTextStyle: { align: "left" },
      axisLabel: { formatter: (v: number) => tick(v), hideOverlap: true } },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 16, bottom: 8 }],
    series: lines.map((l) => {
      const color = runs > 1 ? RUN_COLORS[l.run % RUN_COLORS.length] : undefined;
      return {
        name: l.name, type: "line", showSymbol: false,
        lineStyle: { color, type: runs > 1 ? DASHES[l.dash % DASHES.length] : "solid" }, itemStyle: { color },
        data: seriesPoints(l.s, x).map(([xv, yv]) => [xv, scaleBy(yv, u)]),
      };
    }),
  };
}

/** A chart bound to `el`; `onFirstFinish` fires once the first frame is drawn. */
export function makeChart(el: HTMLElement, dark: boolean, onFirstFinish?: () => void): echarts.ECharts {
  const chart = echarts.init(el, dark ? "dark" : undefined, { renderer: "canvas" });
  if (onFirstFinish) {
    const once = () => {
      chart.off("finished", once);
      onFirstFinish();
    };
    chart.on("finished", once);
  }
  return chart;
}
