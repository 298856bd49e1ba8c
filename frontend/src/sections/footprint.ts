// Embodied emissions and water: cards beside (never inside) the CO₂e total, and per run the breakdown
// with every figure's source.

import { h, table } from "../dom";
import { combineFootprint, FOOTPRINT_METRICS, type FootprintMetric } from "../footprint";
import { formatEmbodied, formatWater, sig } from "../format";
import type { FootprintSummary, RunSummary } from "../types";
import { splitUnit, type Disclosure } from "./common";

const LABELS: Record<FootprintMetric, [string, (x: number | null) => string]> = {
  embodied_kg: ["Embodied CO₂e (hardware)", formatEmbodied],
  water_onsite_l: ["Water on-site (WUE)", formatWater],
  water_offsite_l: ["Water off-site (grid)", formatWater],
};

function card(summaries: RunSummary[], metric: FootprintMetric): HTMLElement {
  const [label, format] = LABELS[metric];
  const c = combineFootprint(summaries, metric);
  const note = c.unknownRuns && c.value !== null ? `unknown for ${c.unknownRuns} of ${c.runs} runs` : undefined;
  return h("div", { class: "card", "data-metric": metric, "data-value": c.value === null ? "" : String(c.value) },
    h("div", { class: "label" }, label), h("div", { class: "value", title: note }, ...splitUnit(format(c.value))));
}

function breakdown(run: string, f: FootprintSummary): HTMLElement {
  const parts = table(["Part", "Device", "Figure (share occupied)", "Source of the figure", "This run"], f.embodied_parts.map((p) => [
    p.part, p.name || "—", p.figure_kgco2e == null ? "unknown" : `${sig(p.figure_kgco2e)} kg`,
    h("span", { title: p.source }, p.label), formatEmbodied(p.embodied_kg)]), 4);
  const bySource = Object.entries(f.water_offsite_by_source_l).filter(([, l]) => l > 0).sort((a, b) => b[1] - a[1]);
  const water = table(["Water", "Litres", "How"], [
    ["on-site", formatWater(f.water_onsite_l),
      f.wue_l_per_kwh == null ? "WUE unknown: pass wue= (L/kWh)" : `IT energy × WUE ${sig(f.wue_l_per_kwh, 3)} L/kWh (${f.wue_label})`],
    ["off-site", formatWater(f.water_offsite_l),
      bySource.length ? bySource.map(([s, l]) => `${s.replace("_", " ")} ${formatWater(l)}`).join(", ") : "no grid mix: unknown"],
  ], 1);
  return h("div", { class: "provenance", "data-footprint-run": run },
    h("h3", {}, run), parts,
    f.lifetime_years == null ? null
      : h("p", { class: "note" }, `Amortised: device-hours × figure / (${sig(f.lifetime_years, 3)} years × `
        + `${sig((f.utilisation ?? 0) * 100, 3)} % utilisation).`),
    water,
    h("p", { class: "note", title: f.wue_source }, `Off-site factors: ${f.water_offsite_source}.`));
}

/** Collapsible: its cards in the summary line, the breakdown inside; open when every figure is known. */
export function footprintSection(summaries: RunSummary[], fold: Disclosure): HTMLElement {
  const runs = summaries.filter((s) => s.has_records && s.footprint);
  const known = FOOTPRINT_METRICS.every((m) => { const c = combineFootprint(runs, m); return c.value !== null && !c.unknownRuns; });
  return fold.details("footprint", runs.length > 0 && known, [
    h("h2", {}, "Hardware and water"),
    h("span", { class: "hint" }, known ? "" : "some figures unknown for this hardware or place"),
    h("div", { class: "cards" }, ...FOOTPRINT_METRICS.map((m) => card(runs, m)))],
  h("p", { class: "muted" }, "Beside the CO₂e above, never added into it: the hardware's manufacturing emissions, "
    + "amortised by occupancy, and the water behind the electricity."),
  ...runs.map((s) => breakdown(s.run, s.footprint as FootprintSummary)),
  h("p", { class: "note" }, "Sources, scope and licences: greenops_tb/footprint/data/PROVENANCE.md."));
}
