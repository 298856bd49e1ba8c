// The per-stage series chart and the watched values.

import type { XAxis } from "../aggregate";
import { linesOption, runLines, stageLines } from "../charts";
import { h } from "../dom";
import type { RunSummary, StageSeries } from "../types";
import { METRICS, POINTS, type ChartFactory } from "./common";
import { withBands } from "./decisions";

/** What the series sections draw: the loaded series of the selected runs in run-list order (their colours). */
export interface SeriesView {
  series: StageSeries[];
  watched: StageSeries[];
  stageOrder: string[];
  currency: string; // the selected runs' one currency, "" when they differ
  x: XAxis;
  metric: string;
}

export function seriesSection(v: SeriesView, chart: ChartFactory, summaries: RunSummary[] = []): HTMLElement {
  const m = METRICS[v.metric];
  const banded = m.kind === "energy" || m.kind === "co2";
  return h("section", { "data-testid": "series" },
    h("h2", {}, `${m.label} by ${v.x === "step" ? "step" : "wall time"}`),
    chart("series", banded ? withBands(v, summaries, m.kind as "energy" | "co2", v.currency)
      : linesOption(stageLines(v.series, v.metric, v.stageOrder), v.x, m.kind, v.currency)),
    h("p", { class: "note" }, "Per stage, as logged to the Scalars tab (float32). Up to "
      + `${POINTS} points per line, downsampled by TensorBoard.`
      + (banded ? " Dotted: the stage's low-high range (docs/METHOD.md)." : "")));
}

export function watchedSection(v: SeriesView, chart: ChartFactory): HTMLElement | null {
  const ws = v.watched.filter((w) => Object.keys(w.stages).length > 0);
  if (ws.length === 0) return null;
  const names = [...new Set(ws.flatMap((w) => Object.values(w.stages).flatMap((m) => Object.keys(m))))].sort();
  return h("section", { "data-testid": "watched" },
    h("h2", {}, "Watched values"),
    h("div", { class: "grid2 even" }, ...names.map((n) => h("div", {},
      h("h3", {}, n),
      chart(`watch:${n}`, linesOption(runLines(ws, n), v.x, n.endsWith("_kwh") ? "energy" : "plain"), "chart small")))));
}
