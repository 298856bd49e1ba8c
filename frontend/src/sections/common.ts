// What the section renderers share: how they make charts, the series metrics, small formatted pieces.

import { orderStages } from "../aggregate";
import type { Option } from "../charts";
import { h, type Child } from "../dom";
import { formatCost, formatCostExact, type Kind } from "../format";
import type { RunSummary, StageSummary } from "../types";

/** Makes (or remakes) the chart `key` from `option` in a new element of class `cls`; the app owns its lifecycle. */
export type ChartFactory = (key: string, option: Option, cls?: string) => HTMLElement;

/** Series points asked per line (the backend caps them with TensorBoard's downsampling). */
export const POINTS = 500;

export const METRICS: Record<string, { label: string; kind: Kind }> = {
  energy_kwh: { label: "Energy (running total)", kind: "energy" },
  power_w: { label: "Average power", kind: "power" },
  co2_kg: { label: "CO₂e (running total)", kind: "co2" },
  cost: { label: "Cost (running total)", kind: "cost" },
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
