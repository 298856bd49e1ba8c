// The main chart (a metric per stage over steps or wall time, with its switches) and the watched values.

import type { XAxis } from "../aggregate";
import { linesOption, stageLines } from "../charts";
import { h } from "../dom";
import { watchedUnit, type Unit } from "../format";
import type { RunSummary, StageSeries } from "../types";
import { METRICS, POINTS, type ChartFactory, type ViewUnits } from "./common";
import { rangeNotes, withBands } from "./decisions";

/** What the series sections draw: the loaded series of the selected runs in run-list order (their colours). */
export interface SeriesView {
  series: StageSeries[];
  watched: StageSeries[];
  stageOrder: string[];
  currency: string; // the selected runs' one currency, "" when they differ
  x: XAxis;
  metric: string;
}

/** What the main chart's switches change. */
export interface SeriesSwitches {
  metric(metric: string): void;
  x(x: XAxis): void;
}

const X_CHOICES: [XAxis, string][] = [["step", "Step"], ["wall_time", "Time"]];

/** A group of buttons, the current one pressed. */
function switchGroup<T extends string>(testid: string, label: string, current: T, choices: [T, string][],
  set: (v: T) => void): HTMLElement {
  return h("div", { class: "switch", role: "group", "aria-label": label, "data-testid": testid },
    ...choices.map(([value, text]) => h("button", {
      type: "button", "data-choice": value, "aria-pressed": String(value === current), onclick: () => set(value),
    }, text)));
}

/** The chart's unit: the view's for the quantities on the cards (energy, CO₂e, power); cost picks its own. */
function unitOf(metric: string, units: ViewUnits): Unit | undefined {
  return ({ energy_kwh: units.energy, co2_kg: units.co2, power_w: units.power } as Record<string, Unit>)[metric];
}

export function seriesSection(v: SeriesView, chart: ChartFactory, summaries: RunSummary[], units: ViewUnits,
  on: SeriesSwitches): HTMLElement {
  const m = METRICS[v.metric];
  const banded = m.kind === "energy" || m.kind === "co2";
  const unit = unitOf(v.metric, units);
  return h("section", { "data-testid": "series" },
    h("div", { class: "heading" },
      h("h2", {}, `${m.label} by ${v.x === "step" ? "step" : "wall time"}`),
      switchGroup("metric", "Metric", v.metric, Object.entries(METRICS).map(([k, x]) => [k, x.short]), on.metric),
      switchGroup("x-axis", "X axis", v.x, X_CHOICES, on.x)),
    chart("series", banded ? withBands(v, summaries, m.kind as "energy" | "co2", v.currency, unit)
      : linesOption(stageLines(v.series, v.metric, v.stageOrder), v.x, m.kind, v.currency, unit), "chart main"),
    h("p", { class: "note" }, "Per stage, as logged to the Scalars tab (float32). Up to "
      + `${POINTS} points per line, downsampled by TensorBoard.`
      + (banded ? " Dotted: the stage's low-high range (docs/METHOD.md)." : "")),
    rangeNotes(summaries, units));
}

/** A chart per watched name, a line per stage whose records carry it (a value read at train and at eval records is
 * two histories, not one zig-zag); its unit from its name (`step_s`: seconds), energy in the view's unit. */
export function watchedSection(v: SeriesView, chart: ChartFactory, units: ViewUnits): HTMLElement | null {
  const ws = v.watched.filter((w) => Object.keys(w.stages).length > 0);
  if (ws.length === 0) return null;
  const names = [...new Set(ws.flatMap((w) => Object.values(w.stages).flatMap((m) => Object.keys(m))))].sort();
  return h("section", { "data-testid": "watched" },
    h("h2", {}, "Watched values"),
    h("div", { class: "grid2 even" }, ...names.map((n) => {
      const lines = stageLines(ws, n, v.stageOrder);
      const max = Math.max(0, ...lines.flatMap((l) => l.s.value.map((x) => (x === null ? 0 : Math.abs(x)))));
      return h("div", {},
        h("h3", {}, n),
        chart(`watch:${n}`, linesOption(lines, v.x, "plain", "", n.endsWith("_kwh") ? units.energy : watchedUnit(n, max)),
          "chart small"));
    })));
}
