// The "Variants" panel: when the selected runs are the variants of one inference bench (greenops_tb.InferenceBench),
// their J per request with ranges, latency, outputs and the projection to a request volume the user types
// (all numbers from `/inference`, the same as `greenops-tb inference --json`).

import { api, LatestOnly } from "../api";
import type { Option } from "../charts";
import { fill, h, table } from "../dom";
import { chartUnit, formatCo2, formatCost, formatEnergy, formatJoules, formatLatency, sig, tick } from "../format";
import type { InferenceResponse, InferenceVariant } from "../types";
import type { ChartFactory } from "./common";

export const DEFAULT_REQUESTS_PER_DAY = 1_000_000;
const TYPING_MS = 300;
const COLORS = { recommended: "#2e7d32", differ: "#c62828", other: "#78909c", whisker: "#37474f" };

const label = (v: InferenceVariant, batches: number): string =>
  (batches > 1 ? `${v.variant} (batch ${v.batch_size})` : v.variant);

const range = (value: number, low: number | null, high: number | null, fmt: (x: number) => string): string =>
  (low === null || high === null ? fmt(value) : `${fmt(value)} (${fmt(low)}–${fmt(high)})`);

/** Bars of J per request, one per variant and batch size, each with its low–high range as a whisker. */
export function joulesOption(rows: InferenceVariant[], labels: string[]): Option {
  const u = chartUnit("joules", Math.max(0, ...rows.map((r) => r.j_per_request_high)));
  const s = (x: number) => x / u.factor;
  const color = (r: InferenceVariant) => (!r.outputs_match ? COLORS.differ : r.recommended ? COLORS.recommended : COLORS.other);
  return {
    backgroundColor: "transparent",
    tooltip: {
      renderMode: "richText", confine: true, trigger: "item",
      formatter: (p: { dataIndex: number }) => {
        const r = rows[p.dataIndex];
        return `${labels[p.dataIndex]}: ${range(r.j_per_request, r.j_per_request_low, r.j_per_request_high, formatJoules)}`;
      },
    },
    grid: { left: 8, right: 24, top: 8, bottom: 24, containLabel: true },
    xAxis: { type: "value", name: u.unit, nameLocation: "end", axisLabel: { formatter: (v: number) => tick(v), hideOverlap: true } },
    yAxis: { type: "category", data: labels, inverse: true, axisTick: { show: false } },
    series: [
      { type: "bar", name: "J per request", barMaxWidth: 18,
        data: rows.map((r) => ({ value: s(r.j_per_request), itemStyle: { color: color(r) } })) },
      { type: "bar", stack: "range", barWidth: 3, barGap: "-100%", silent: true, itemStyle: { color: "transparent" },
        data: rows.map((r) => s(r.j_per_request_low)) },
      { type: "bar", stack: "range", barWidth: 3, barGap: "-100%", silent: true, itemStyle: { color: COLORS.whisker },
        data: rows.map((r) => s(r.j_per_request_high - r.j_per_request_low)) },
    ],
  };
}

function outputsCell(v: InferenceVariant): HTMLElement {
  if (v.outputs_match) return h("span", { "data-outputs": "match" }, "match");
  const diff = v.max_abs_diff === null ? "not comparable" : `max abs diff ${sig(v.max_abs_diff, 3)}`;
  return h("span", { class: "badge differ", "data-outputs": "differ", title: v.note || diff }, `differ (${diff})`);
}

function variantsTable(d: InferenceResponse, batches: number): HTMLTableElement {
  return table(["Variant", "J / request (range)", "vs baseline", "p50", "p95", "Outputs", ""],
    d.variants.map((v) => [
      h("span", { title: v.how, "data-variant": v.variant }, label(v, batches)),
      h("span", { "data-j": String(v.j_per_request) },
        range(v.j_per_request, v.j_per_request_low, v.j_per_request_high, formatJoules)),
      v.comparison, formatLatency(v.latency_p50_s), formatLatency(v.latency_p95_s), outputsCell(v),
      v.recommended ? h("span", { class: "badge measured", "data-recommended": v.variant }, "recommended") : "",
    ]), 1);
}

function projectionTable(d: InferenceResponse, batches: number): HTMLTableElement {
  const saving = (v: InferenceVariant): string => (v.comparison === "baseline" ? "—"
    : `${formatEnergy(v.saving_kwh_per_year)}/y${v.saving_rel === null ? "" : ` (${v.saving_rel >= 0 ? "+" : ""}${sig(v.saving_rel * 100, 3)} %)`}`);
  return table(["Variant", "kWh / year", "CO₂e / year", "Cost / year", "Water / year", "Compute h / day", "Saving vs baseline"],
    d.variants.map((v) => [
      label(v, batches),
      h("span", { "data-kwh-year": String(v.kwh_per_year) },
        range(v.kwh_per_year, v.kwh_per_year_low, v.kwh_per_year_high, formatEnergy)),
      range(v.co2_kg_per_year, v.co2_kg_per_year_low, v.co2_kg_per_year_high, formatCo2),
      v.cost_per_year === null ? "unknown" : formatCost(v.cost_per_year, v.currency),
      v.water_l_per_year === null ? "unknown" : `${sig(v.water_l_per_year, 3)} L`,
      h("span", { "data-hours": String(v.compute_hours_per_day) }, sig(v.compute_hours_per_day)),
      saving(v),
    ]), 1);
}

/** The panel's state: the bench of the selected runs (if they are one bench's variants) and the volume typed. */
export class VariantsPanel {
  private data: InferenceResponse | undefined;
  private error = "";
  private runs: string[] = [];
  private volume = DEFAULT_REQUESTS_PER_DAY;
  private chart: ChartFactory | undefined;
  private typing: number | undefined;
  private readonly loads = new LatestOnly();
  private readonly body = h("div", {});
  private readonly input = h("input", {
    type: "number", min: "0", step: "any", value: String(DEFAULT_REQUESTS_PER_DAY), "aria-label": "Requests per day",
    "data-testid": "variants-volume",
    oninput: (ev: Event) => {
      const n = Number((ev.target as HTMLInputElement).value);
      if (!Number.isFinite(n) || n < 0) return;
      window.clearTimeout(this.typing);
      this.typing = window.setTimeout(() => { this.volume = n; void this.fetch(false); }, TYPING_MS);
    },
  });
  private readonly el = h("section", { "data-testid": "variants" },
    h("h2", {}, "Variants"),
    h("div", { class: "toolbar" }, h("label", {}, "Requests per day", this.input)),
    this.body);

  /** `changed` redraws the tab (after a new selection's bench was loaded). */
  constructor(private readonly changed: () => void) {}

  /** Ask for the bench of `runs`; the panel hides when they are not one bench's variants. */
  load(runs: string[]): Promise<void> {
    this.runs = runs;
    return this.fetch(true);
  }

  private async fetch(redrawTab: boolean): Promise<void> {
    const current = this.loads.begin();
    let data: InferenceResponse | undefined;
    let error = "";
    if (this.runs.length > 0) {
      try {
        const answer = await api.inference(this.runs, this.volume);
        data = answer.bench === null ? undefined : answer;
      } catch (err) {
        error = (err as Error).message;
      }
    }
    if (!current()) return;
    [this.data, this.error] = [data, error];
    if (redrawTab) this.changed();
    else this.draw();
  }

  /** The panel for the tab (null when the selection is not one bench), drawn with the tab's chart factory. */
  section(chart: ChartFactory): HTMLElement | null {
    this.chart = chart;
    if (!this.data && !this.error) return null;
    this.draw();
    return this.el;
  }

  private draw(): void {
    const d = this.data;
    if (!d || !this.chart) {
      fill(this.body, this.error ? h("div", { class: "status error", role: "alert" }, this.error) : null);
      return;
    }
    const batches = new Set(d.variants.map((v) => v.batch_size)).size;
    const labels = d.variants.map((v) => label(v, batches));
    const bars = this.chart("variants-bars", joulesOption(d.variants, labels));
    bars.style.height = `${Math.max(160, 48 + d.variants.length * 26)}px`;
    fill(this.body,
      h("p", { class: "note" }, `Bench ${d.bench || "(the logdir)"} on ${d.device}: ${d.rounds} interleaved rounds of `
        + `${d.requests} requests per variant; baseline ${d.baseline}; outputs match when ${d.tolerance}. `
        + "“within noise”: the rounds' ranges overlap. A variant whose outputs differ is never recommended."),
      ...d.notes.map((n) => h("p", { class: "note", "data-note": "energy" }, n)),
      variantsTable(d, batches),
      h("h3", {}, "Energy per request (bars: mean; whiskers: range of measurement and rounds)"),
      bars,
      h("h3", {}, `At ${d.requests_per_day.toLocaleString("en-US")} requests per day`),
      projectionTable(d, batches),
      d.not_built.length === 0 ? null : h("div", { "data-testid": "not-built" }, h("h3", {}, "Not built"),
        table(["Variant", "Why"], d.not_built.map((n) => [h("span", { title: n.how }, n.variant), n.reason]), 2)),
    );
  }
}
