// From numbers to decisions: error ranges on the cards, efficiency per unit of work, and the same run elsewhere.

import { barsHeight, barsOption, linesOption, stageLines } from "../charts";
import { h, table } from "../dom";
import { formatCo2, formatIn, formatJoules, perUnit, sig, type Unit } from "../format";
import type { Efficiency, Place, Range, RunSummary, WhatIfResponse, WhatIfScope } from "../types";
import { splitUnit, stagesOf, type ChartFactory, type ViewUnits } from "./common";
import type { SeriesView } from "./series";

export { formatJoules };

/** `659.7 M`: a large count with an SI prefix (samples per kWh). */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e12) return `${sig(n / 1e12)} T`;
  if (a >= 1e9) return `${sig(n / 1e9)} G`;
  if (a >= 1e6) return `${sig(n / 1e6)} M`;
  if (a >= 1e4) return `${sig(n / 1e3)} k`;
  return sig(n);
}

/** Grams CO₂e per unit as mass text (`4.1 mg CO₂e`). */
export const formatGrams = (g: number): string => formatCo2(g / 1000);

/** `2.1–4.4 mWh`: a range in the unit of its value's formatter. */
export function rangeText(r: Range | null | undefined, fmt: (x: number) => string): string {
  if (!r) return "";
  return `range ${fmt(r.low)} – ${fmt(r.high)}`;
}

/** The per-unit text of one efficiency: `12.3 J / sample · 4.1 mg CO₂e / sample`. */
export function efficiencyText(e: Efficiency | undefined): string {
  if (!e || e.j_per_unit === null || e.g_per_unit === null) return "—";
  return `${formatJoules(e.j_per_unit)} · ${formatGrams(e.g_per_unit)} / ${e.unit}`;
}

/** The stage's headline efficiency: per sample, else per token, else per step. */
export const stageEfficiency = (eff: Record<string, Efficiency> | undefined): Efficiency | undefined =>
  eff?.sample ?? eff?.token ?? eff?.step;

/** Cards for one run: energy and CO₂e per unit of work, units per kWh. Nothing for several runs (units differ). */
export function efficiencyCards(summaries: RunSummary[]): HTMLElement | null {
  const e = summaries.length === 1 ? summaries[0].efficiency : null;
  if (!e || e.j_per_unit === null || e.g_per_unit === null || e.units_per_kwh === null) return null;
  const card = (metric: string, label: string, text: string, raw: number) =>
    h("div", { class: "card", "data-metric": metric, "data-value": String(raw) },
      h("div", { class: "label" }, label), h("div", { class: "value" }, ...splitUnit(text)));
  return h("div", { class: "cards efficiency", "data-testid": "efficiency" },
    card("j_per_unit", `Energy per ${e.unit} (${e.stage})`, formatJoules(e.j_per_unit), e.j_per_unit),
    card("g_per_unit", `CO₂e per ${e.unit}`, formatGrams(e.g_per_unit), e.g_per_unit),
    card("g_per_1k", `CO₂e per 1,000 ${e.unit}s`, formatGrams(e.g_per_1k ?? 0), e.g_per_1k ?? 0),
    card("units_per_kwh", `${e.unit[0].toUpperCase()}${e.unit.slice(1)}s per kWh`, formatCount(e.units_per_kwh), e.units_per_kwh));
}

/** The ranges of the energy and CO₂e cards, in the cards' units (one run; ranges of several runs do not add up
 * simply). */
export function rangeNotes(summaries: RunSummary[], units: ViewUnits): HTMLElement | null {
  const r = summaries.length === 1 ? summaries[0].ranges : undefined;
  if (!r) return null;
  const item = (metric: string, label: string, x: Range, u: Unit) =>
    h("span", { "data-range": metric, "data-low": String(x.low), "data-high": String(x.high) },
      `${label} ${formatIn(x.value, u)} (${formatIn(x.low, u)} – ${formatIn(x.high, u)})`);
  return h("p", { class: "note", "data-testid": "ranges" },
    "Ranges: ", item("energy_kwh", "energy", r.totals.energy_kwh, units.energy), "; ",
    item("co2_kg", "CO₂e", r.totals.co2_kg, units.co2),
    ` — ${r.rule}. Widest factors: `,
    r.factors.slice().sort((a, b) => b.high - a.high).slice(0, 3)
      .map((f) => `${f.name} ±${Math.round(f.high * 100)} %`).join(", "), ".");
}

/** Running J per sample (or token) over steps, per stage, when any stage counted work units; in the unit of the
 * efficiency card (`card`) when it counts the same unit. */
export function efficiencySection(v: SeriesView, chart: ChartFactory, card?: Efficiency | null): HTMLElement | null {
  const metric = ["j_per_sample", "j_per_token"].find((m) => v.series.some((r) => Object.values(r.stages).some((s) => s[m])));
  if (!metric) return null;
  const unit = metric === "j_per_sample" ? "sample" : "token";
  const lines = stageLines(v.series, metric, v.stageOrder);
  const max = (card?.unit === unit ? card.j_per_unit : null) ?? Math.max(0, ...lines.flatMap((l) => l.s.value.map((x) => (x === null ? 0 : Math.abs(x)))));
  return h("section", { "data-testid": "efficiency-series" },
    h("h2", {}, `Energy per ${unit} by ${v.x === "step" ? "step" : "wall time"}`),
    chart("efficiency", linesOption(lines, v.x, "plain", "", perUnit(max, unit))),
    h("p", { class: "note" }, `Joules of IT energy per ${unit}, the stage's running totals (both since its start).`));
}

/** The per-stage efficiency column's cell. */
export const efficiencyCell = (s: RunSummary, stage: string): string =>
  efficiencyText(stageEfficiency(stagesOf(s).find((st) => st.stage === stage)?.efficiency));

/** Places asked per what-if ranking. */
export const WHATIF_TOP = 15;

export interface WhatIfView {
  data: WhatIfResponse | undefined;
  scope: WhatIfScope;
  setScope(scope: WhatIfScope): void;
  co2: Unit; // the view's CO₂e unit
  energyUnit: Unit; // and its energy unit
}

/** Places ranked by CO₂e with this run among them (marked), as far down as this run's place or the list goes. */
export function rankedPlaces(w: WhatIfResponse): { place: Place; mine: boolean }[] {
  const rows = w.cleanest.map((place) => ({ place, mine: false }));
  const at = rows.findIndex((r) => r.place.co2_kg > w.this_run.co2_kg);
  const mine = { place: w.this_run, mine: true };
  if (at === -1) rows.push(mine);
  else rows.splice(at, 0, mine);
  return rows;
}

const pct = (x: number | null): string => (x === null ? "—" : `${x >= 0 ? "−" : "+"}${Math.abs(Math.round(x * 100))} %`);

const SCOPE_TEXT: Record<WhatIfScope, string> = {
  choices: "places you can choose: the cloud regions and the grid zones near this run's (its country and the "
    + "countries of its cloud regions' families)",
  world: "every grid zone and cloud region of the dataset",
};

/** "The same run elsewhere": a ranked bar chart of CO₂e per place, this run marked; the places a user can choose
 * first, the world ranking one click away. */
export function whatifSection(v: WhatIfView, chart: ChartFactory): HTMLElement | null {
  const w = v.data;
  if (!w) return null;
  const rows = rankedPlaces(w);
  const label = (r: { place: Place; mine: boolean }) =>
    (r.mine ? `▶ this run: ${r.place.key} ${r.place.name}` : `${r.place.key} ${r.place.name}`);
  const bars = chart("whatif", barsOption(rows.map(label), rows.map((r) => r.place.co2_kg), "co2",
    rows.map((r) => (r.mine ? 2 : 1)), v.co2));
  bars.style.height = `${barsHeight(rows.length)}px`;
  const switchBtn = (scope: WhatIfScope, text: string) => h("button", {
    type: "button", "aria-pressed": String(v.scope === scope), "data-testid": `whatif-${scope}`,
    onclick: () => v.setScope(scope),
  }, text);
  return h("section", { "data-testid": "whatif", "data-run": w.run, "data-scope": w.scope },
    h("h2", {}, "The same run elsewhere — ", h("span", { class: "scope" }, w.run)),
    h("div", { class: "switch", role: "group", "aria-label": "Places" },
      switchBtn("choices", "Places you can choose"), switchBtn("world", "World ranking")),
    h("p", { class: "muted" },
      `This run's energy (${formatIn(w.energy_kwh, v.energyUnit)} IT, PUE ${sig(w.pue)}) re-priced interval by `
      + `interval in ${w.places} ${SCOPE_TEXT[w.scope]}: rank ${w.rank} of ${w.places + 1} by CO₂e (the `
      + `${WHATIF_TOP} cleanest shown).`),
    bars,
    h("details", { "data-testid": "whatif-table" }, h("summary", {}, "Places, their data year and basis"),
      table(["Place", "Name", "CO₂e", "vs this run", "Data (basis)"], rows.map((r) => [
        h("span", { "data-place": r.place.key, "data-value": String(r.place.co2_kg), class: r.mine ? "mine" : "" }, label(r)),
        r.place.name, formatIn(r.place.co2_kg, v.co2), r.mine ? "—" : pct(r.place.co2_saving_rel),
        `${r.place.intensity_source} (${r.place.basis})`,
      ]), 2)),
    ...w.notes.map((n) => h("p", { class: "note" }, n)));
}

const PALETTE = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"];

/** The series chart's option with an error band (dotted low and high lines, the main line's colour) per stage
 * line, from the stage's relative range (energy or CO₂e; docs/METHOD.md). Other metrics stay as they are. */
export function withBands(v: SeriesView, summaries: RunSummary[], kind: "energy" | "co2", currency = "", unit?: Unit) {
  const key = kind === "energy" ? "energy_kwh" : "co2_kg";
  const lines = stageLines(v.series, v.metric, v.stageOrder);
  const bands = lines.flatMap((l, i) => {
    const [run, stage] = v.series.length > 1 ? l.name.split(" / ") : [v.series[l.run]?.run, l.name];
    const r = summaries.find((s) => s.run === run)?.ranges?.stages[stage]?.[key];
    if (!r || !(r.value > 0)) return [];
    const scaled = (f: number) => ({ ...l.s, value: l.s.value.map((x) => (x === null ? null : x * f)) });
    return [{ ...l, name: `${l.name} low`, s: scaled(r.low / r.value), band: i },
      { ...l, name: `${l.name} high`, s: scaled(r.high / r.value), band: i }];
  });
  const option = linesOption([...lines, ...bands], v.x, kind, currency, unit) as { series: Record<string, unknown>[]; legend: Record<string, unknown> };
  const colorOf = (i: number) => (option.series[i].itemStyle as { color?: string }).color ?? PALETTE[i % PALETTE.length];
  option.series.forEach((s, i) => {
    if (i < lines.length) {
      s.itemStyle = { color: colorOf(i) };
      s.lineStyle = { ...(s.lineStyle as object), color: colorOf(i) };
    } else {
      const main = bands[i - lines.length].band;
      s.lineStyle = { color: colorOf(main), type: "dotted", opacity: 0.55, width: 1 };
      s.itemStyle = { color: colorOf(main) };
      s.silent = true;
      s.tooltip = { show: false };
    }
  });
  option.legend = { ...option.legend, data: lines.map((l) => l.name) };
  return option;
}
