// What the section renderers share: how they make charts, the series metrics, small formatted pieces.

import { combineTotals, orderStages } from "../aggregate";
import type { Option } from "../charts";
import { h, type Child } from "../dom";
import { chartUnit, formatCost, formatCostExact, type Kind, type Unit } from "../format";
import type { RunSummary, StageSummary } from "../types";
import type { SeriesView } from "./series";

/** Makes (or remakes) the chart `key` from `option` in a new element of class `cls`; the app owns its lifecycle. */
export type ChartFactory = (key: string, option: Option, cls?: string) => HTMLElement;

/** What a section renderer is given: the selected runs, their loaded series, the view's units, the chart factory
 * and the collapsible sections' memory. A new panel is a function of it, listed in `GreenApp.renderContent`. */
export interface SectionContext {
  summaries: RunSummary[];
  view: SeriesView;
  units: ViewUnits;
  chart: ChartFactory;
  fold: Disclosure;
}

/** Series points asked per line (the backend caps them with TensorBoard's downsampling). */
export const POINTS = 500;

/** The main chart's metrics: the chart's title, the switch's text, what it measures. */
export const METRICS: Record<string, { label: string; short: string; kind: Kind }> = {
  energy_kwh: { label: "Energy (running total)", short: "Energy", kind: "energy" },
  power_w: { label: "Average power", short: "Power", kind: "power" },
  co2_kg: { label: "CO₂e (running total)", short: "CO₂e", kind: "co2" },
  cost: { label: "Cost (running total)", short: "Cost", kind: "cost" },
};

/** `80.15 mg CO₂e` -> the number and its unit (shown smaller); text without a unit stays whole. */
export function splitUnit(text: string): Child[] {
  const m = /^(.*?\d)( \D.*)$/.exec(text);
  return m ? [m[1], h("span", { class: "unit" }, m[2])] : [text];
}

/** A cost as shown (`< 0.01 EUR` under a cent) with its exact amount as a tooltip. */
export const cost = (value: number | null | undefined, currency: string | undefined): HTMLElement =>
  h("span", { title: formatCostExact(value, currency) }, formatCost(value, currency));

/** A run's stages, nested ones right under their parent. */
export function stagesOf(s: RunSummary): StageSummary[] {
  const byName = new Map((s.stages ?? []).map((st) => [st.stage, st]));
  return orderStages([...byName.keys()]).map((n) => byName.get(n)!);
}

/** One unit per quantity in a view: picked once from the selected runs' totals (the cards), used by every card,
 * chart, table and note that shows the quantity. */
export interface ViewUnits { energy: Unit; co2: Unit; power: Unit }

export function viewUnits(summaries: RunSummary[]): ViewUnits {
  const t = combineTotals(summaries);
  return {
    energy: chartUnit("energy", t?.energy_kwh ?? 0),
    co2: chartUnit("co2", t?.co2_kg ?? 0),
    power: chartUnit("power", t?.avg_power_w ?? 0),
  };
}

/**
 * Collapsible sections (`<details>`) that keep what the user chose across re-renders: each opens by its own rule
 * (e.g. open when its figures are known) until the user opens or closes it.
 */
export class Disclosure {
  private readonly chosen = new Map<string, boolean>();

  details(key: string, openByDefault: boolean, summary: Child[], ...body: Child[]): HTMLDetailsElement {
    const open = this.chosen.get(key) ?? openByDefault;
    const el = h("details", { class: "fold", "data-testid": key, open }, h("summary", {
      onclick: () => this.chosen.set(key, !el.open), // before the toggle; a keyboard toggle clicks too
    }, ...summary), ...body);
    return el;
  }
}
