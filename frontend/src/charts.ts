// ECharts (tree-shaken, canvas renderer) and the option builders of each chart.
// Tooltips use renderMode "richText" so names are drawn on the canvas, never parsed as HTML.

import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, DataZoomComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { mixEntries, seriesPoints, type XAxis } from "./aggregate";
import { sourceLabel } from "./format";
import { SOURCES, type Mix, type SeriesResponse } from "./types";

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export type Option = echarts.EChartsCoreOption;

export const SOURCE_COLORS: Record<string, string> = {
  coal: "#4d4d4d", gas: "#e07b39", oil: "#8c564b", nuclear: "#9467bd", hydro: "#1f77b4",
  wind: "#17becf", solar: "#f2c12e", bioenergy: "#2ca02c", other_renewable: "#98df8a",
};

const TOOLTIP = { renderMode: "richText", confine: true } as const;

/** Stacked horizontal bars: one bar per label (a run, or a run's stage), one segment per grid source (kWh). */
export function mixBarsOption(rows: { label: string; mix: Mix }[]): Option {
  const labels = rows.map((r) => r.label);
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "item", valueFormatter: (v: unknown) => `${Number(v).toPrecision(4)} kWh` },
    legend: { top: 0, itemWidth: 14, itemHeight: 10 },
    grid: { left: 8, right: 24, top: 56, bottom: 8, containLabel: true },
    xAxis: { type: "value", name: "kWh" },
    yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
    series: SOURCES.map((s) => ({
      name: sourceLabel(s),
      type: "bar",
      stack: "mix",
      itemStyle: { color: SOURCE_COLORS[s] },
      data: rows.map((r) => r.mix[s] ?? 0),
    })),
  };
}

export function mixPieOption(mix: Mix): Option {
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "item", valueFormatter: (v: unknown) => `${Number(v).toPrecision(4)} kWh` },
    series: [{
      type: "pie",
      radius: ["40%", "70%"],
      label: { formatter: "{b}: {d}%" },
      data: mixEntries(mix).map(([s, v]) => ({ name: sourceLabel(s), value: v, itemStyle: { color: SOURCE_COLORS[s] } })),
    }],
  };
}

export function barsOption(labels: string[], values: number[], unit: string): Option {
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "item", valueFormatter: (v: unknown) => `${Number(v).toPrecision(4)} ${unit}` },
    grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
    xAxis: { type: "value", name: unit },
    yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
    series: [{ type: "bar", data: values, itemStyle: { color: "#43a047" } }],
  };
}

/** One line per (run, stage) of `metric`, over step or wall time. */
export function linesOption(series: SeriesResponse[], metric: string, x: XAxis, unit: string): Option {
  const lines = series.flatMap((r) =>
    Object.entries(r.stages).flatMap(([stage, metrics]) => {
      const s = metrics[metric];
      return s ? [{ name: `${r.run} / ${stage}`, type: "line", showSymbol: false, data: seriesPoints(s, x) }] : [];
    }),
  );
  return {
    backgroundColor: "transparent",
    tooltip: { ...TOOLTIP, trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 8, right: 24, top: 32, bottom: 40, containLabel: true },
    xAxis: { type: x === "step" ? "value" : "time", name: x === "step" ? "step" : "" },
    yAxis: { type: "value", scale: true, axisLabel: { formatter: (v: number) => (unit ? `${v} ${unit}` : String(v)) } },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 16, bottom: 8 }],
    series: lines,
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
