// The Green tab: state, data loading, and rendering of every section.

import type { ECharts } from "echarts/core";
import {
  combineTotals, depth, equivalents, EQUIVALENTS_SOURCE, filterRuns, mixOf, orderStages, ratiosToBest, sumMix, type MixBasis,
  type XAxis,
} from "./aggregate";
import {
  barsHeight, barsOption, linesOption, makeChart, mixBarsOption, mixPieOption, runLines, stageLines, type Option,
} from "./charts";
import { toCsv, type Cell } from "./csv";
import { fill, h, table, type Child } from "./dom";
import {
  formatCharges, formatCo2, formatCost, formatCostExact, formatDeviceContext, formatDistance, formatDuration, formatEnergy,
  formatPower, formatShare, formatTime, sig, type Kind,
} from "./format";
import { footprintSection } from "./sections/footprint";
import { CSS, RUN_COLORS } from "./styles";
import {
  SOURCES, type DeviceSummary, type RunInfo, type RunSummary, type SeriesResponse, type StageSummary,
} from "./types";

const REFRESH_MS = 30_000;
const POINTS = 500;
const DEFAULT_SELECTED = 5;

const METRICS: Record<string, { label: string; kind: Kind }> = {
  energy_kwh: { label: "Energy (running total)", kind: "energy" },
  power_w: { label: "Average power", kind: "power" },
  co2_kg: { label: "CO₂e (running total)", kind: "co2" },
  cost: { label: "Cost (running total)", kind: "cost" },
};

/** `80.15 mg CO₂e` -> the number and its unit (shown smaller); text without a unit stays whole. */
function splitUnit(text: string): Child[] {
  const m = /^(.*?\d)( \D.*)$/.exec(text);
  return m ? [m[1], h("span", { class: "unit" }, m[2])] : [text];
}

/** A cost as shown (`< 0.01 EUR` under a cent) with its exact amount as a tooltip. */
const cost = (value: number | null | undefined, currency: string | undefined): HTMLElement =>
  h("span", { title: formatCostExact(value, currency) }, formatCost(value, currency));

type Theme = "auto" | "light" | "dark";

declare global {
  interface Window { __green?: { firstChartMs?: number; refreshes: number } }
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const msg = body && typeof body === "object" && "error" in body ? String((body as { error: unknown }).error) : res.statusText;
    throw new Error(`${path.split("?")[0]}: ${res.status} ${msg}`);
  }
  return body as T;
}

const q = (run: string) => encodeURIComponent(run);

export class GreenApp {
  private runs: RunInfo[] = [];
  private selected = new Set<string>();
  private filter = "";
  private x: XAxis = "step";
  private metric = "energy_kwh";
  private mixBasis: MixBasis = "energy";
  private theme: Theme = "auto";
  private autoRefresh = true;
  private summaries = new Map<string, RunSummary>();
  private series = new Map<string, SeriesResponse>();
  private watched = new Map<string, SeriesResponse>();
  private charts = new Map<string, ECharts>();
  private loadedOnce = false;
  private seriesLoaded = false;
  private timer: number | undefined;

  private readonly status = h("div", { class: "status", role: "status", "data-testid": "status" }, "Loading…");
  private readonly runList = h("ul", { class: "runlist", "data-testid": "runs" });
  private readonly content = h("div", { "data-testid": "content" });

  constructor(private readonly root: HTMLElement) {
    window.__green = { refreshes: 0 };
  }

  mount(): void {
    document.head.append(h("style", {}, CSS));
    this.applyTheme();
    window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.("change", () => this.setTheme(this.theme));
    const filterBox = h("input", {
      type: "search", placeholder: "Filter runs", "aria-label": "Filter runs", "data-testid": "run-filter",
      oninput: (ev: Event) => { this.filter = (ev.target as HTMLInputElement).value; this.renderRunList(); },
    });
    const aside = h("aside", {},
      h("h1", {}, "Green"),
      h("div", { class: "muted" }, "Runs with green data"),
      filterBox,
      h("div", { class: "toolbar" },
        h("button", { type: "button", onclick: () => this.selectVisible(true) }, "All"),
        h("button", { type: "button", onclick: () => this.selectVisible(false) }, "None")),
      this.runList);
    const main = h("main", {}, this.toolbar(), this.status, this.content);
    fill(this.root, h("div", { class: "layout" }, aside, main));
    window.addEventListener("resize", () => this.charts.forEach((c) => c.resize()));
    void this.refresh();
    this.timer = window.setInterval(() => {
      if (this.autoRefresh && !document.hidden) void this.refresh();
    }, REFRESH_MS);
  }

  dispose(): void {
    window.clearInterval(this.timer);
    this.charts.forEach((c) => c.dispose());
  }

  private toolbar(): HTMLElement {
    const select = (label: string, value: string, options: [string, string][], on: (v: string) => void, testid: string) =>
      h("label", {}, label,
        h("select", { "data-testid": testid, onchange: (ev: Event) => on((ev.target as HTMLSelectElement).value) },
          ...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
    return h("div", { class: "toolbar" },
      select("Metric", this.metric, Object.entries(METRICS).map(([k, m]) => [k, m.label]),
        (v) => { this.metric = v; this.renderContent(); }, "metric"),
      select("X axis", this.x, [["step", "Step"], ["wall_time", "Wall time"]],
        (v) => { this.x = v as XAxis; this.renderContent(); }, "x-axis"),
      select("Theme", this.theme, [["auto", "Auto"], ["light", "Light"], ["dark", "Dark"]],
        (v) => this.setTheme(v as Theme), "theme"),
      h("label", {},
        h("input", { type: "checkbox", checked: this.autoRefresh, "data-testid": "auto-refresh",
          onchange: (ev: Event) => { this.autoRefresh = (ev.target as HTMLInputElement).checked; } }),
        "Auto-refresh (30 s)"),
      h("button", { type: "button", onclick: () => void this.refresh() }, "Refresh"),
      h("button", { type: "button", "data-testid": "download-csv", onclick: () => this.downloadCsv() }, "Download CSV"));
  }

  private isDark(): boolean {
    if (this.theme === "auto") return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
    return this.theme === "dark";
  }

  private applyTheme(): void {
    document.documentElement.dataset.theme = this.isDark() ? "dark" : "light";
  }

  private setTheme(theme: Theme): void {
    this.theme = theme;
    this.applyTheme();
    this.charts.forEach((c) => c.dispose()); // ECharts themes are fixed at init
    this.charts.clear();
    this.renderContent();
  }

  private setStatus(text: string, kind: "info" | "error" | "none" = "info"): void {
    this.status.className = kind === "error" ? "status error" : "status";
    this.status.hidden = kind === "none";
    if (kind === "error") this.status.setAttribute("role", "alert");
    fill(this.status, text);
  }

  async refresh(): Promise<void> {
    try {
      const { runs } = await getJson<{ runs: RunInfo[] }>("runs");
      this.runs = runs;
      const names = new Set(runs.map((r) => r.run));
      for (const r of [...this.selected]) if (!names.has(r)) this.selected.delete(r);
      if (!this.loadedOnce) runs.slice(-DEFAULT_SELECTED).forEach((r) => this.selected.add(r.run));
      this.loadedOnce = true;
      this.renderRunList();
      await this.loadSelected();
      if (window.__green) window.__green.refreshes += 1;
    } catch (err) {
      const why = err instanceof TypeError ? "TensorBoard did not answer (is it still running?)" : (err as Error).message;
      this.setStatus(`Could not load the green data: ${why}. The numbers below are from the last refresh; `
        + "retrying on the next one.", "error");
      document.body.dataset.state = "error";
    }
  }

  /** Summaries first (cards, mix, stages render at once), then the series and watched values. */
  private async loadSelected(): Promise<void> {
    const runs = this.runs.map((r) => r.run).filter((r) => this.selected.has(r));
    const summaries = await Promise.all(runs.map((r) => getJson<RunSummary>(`summary?run=${q(r)}`)));
    this.summaries = new Map(runs.map((r, i) => [r, summaries[i]]));
    for (const cache of [this.series, this.watched]) {
      for (const r of [...cache.keys()]) if (!this.selected.has(r)) cache.delete(r);
    }
    this.seriesLoaded = false;
    this.renderContent();
    const series = await Promise.all(runs.map((r) => Promise.all([
      getJson<SeriesResponse>(`series?run=${q(r)}&points=${POINTS}`),
      getJson<SeriesResponse>(`watched?run=${q(r)}&points=${POINTS}`),
    ])));
    runs.forEach((r, i) => {
      this.series.set(r, series[i][0]);
      this.watched.set(r, series[i][1]);
    });
    this.seriesLoaded = true;
    this.renderContent();
  }

  private selectVisible(on: boolean): void {
    for (const r of filterRuns(this.runs, this.filter)) {
      if (on) this.selected.add(r.run);
      else this.selected.delete(r.run);
    }
    this.renderRunList();
    void this.loadSelected().catch((err: Error) => this.setStatus(err.message, "error"));
  }

  private renderRunList(): void {
    const visible = filterRuns(this.runs, this.filter);
    fill(this.runList, ...visible.map((r) => h("li", {},
      h("label", { title: r.run },
        h("input", {
          type: "checkbox", checked: this.selected.has(r.run), "data-run": r.run,
          onchange: (ev: Event) => {
            if ((ev.target as HTMLInputElement).checked) this.selected.add(r.run);
            else this.selected.delete(r.run);
            void this.loadSelected().catch((err: Error) => this.setStatus(err.message, "error"));
          },
        }),
        h("span", { class: "run-name" }, r.run)))));
    if (visible.length === 0 && this.runs.length > 0) fill(this.runList, h("li", { class: "muted" }, "No run matches the filter."));
  }

  private chart(key: string, option: Option, cls = "chart"): HTMLElement {
    const el = h("div", { class: cls, "data-chart": key });
    this.charts.get(key)?.dispose();
    const chart = makeChart(el, this.isDark(), () => {
      el.dataset.rendered = "1";
      if (window.__green && window.__green.firstChartMs === undefined) window.__green.firstChartMs = performance.now();
    });
    chart.setOption(option);
    this.charts.set(key, chart);
    requestAnimationFrame(() => chart.resize());
    return el;
  }

  private selectedSummaries(): RunSummary[] {
    return [...this.summaries.values()];
  }

  /** Every stage name of the selected runs, nested ones under their parent (the stage table's order). */
  private stageOrder(): string[] {
    return orderStages([...new Set(this.selectedSummaries().flatMap((s) => (s.stages ?? []).map((st) => st.stage)))]);
  }

  /** The loaded series of the selected runs, in the order of the run list (the order of their colours). */
  private inRunOrder(cache: Map<string, SeriesResponse>): SeriesResponse[] {
    return this.selectedSummaries().flatMap((s) => cache.get(s.run) ?? []);
  }

  /** The selected runs' one currency, or "" when they differ. */
  private currency(): string {
    const all = new Set(this.selectedSummaries().map((s) => s.currency ?? ""));
    return all.size === 1 ? [...all][0] : "";
  }

  private renderContent(): void {
    this.charts.forEach((c) => c.dispose());
    this.charts.clear();
    if (this.runs.length === 0) {
      this.setStatus("No green data yet. Log a run with greenops_tb.GreenSummaryWriter into this logdir; "
        + "this tab refreshes by itself every 30 s.");
      fill(this.content);
      document.body.dataset.state = "empty";
      return;
    }
    const summaries = this.selectedSummaries();
    if (summaries.length === 0) {
      this.setStatus("Select one or more runs on the left.");
      fill(this.content);
      document.body.dataset.state = "empty";
      return;
    }
    this.setStatus("", "none");
    const sections: Child[] = [
      this.headlineSection(summaries),
      footprintSection(summaries),
      this.mixSection(summaries),
      this.stageSection(summaries),
      this.seriesSection(),
      summaries.length > 1 ? this.compareSection(summaries) : null,
      this.watchedSection(),
      this.provenanceSection(summaries),
    ];
    fill(this.content, ...sections);
    document.body.dataset.state = this.seriesLoaded ? "ready" : "partial";
  }

  private headlineSection(summaries: RunSummary[]): HTMLElement {
    const t = combineTotals(summaries);
    if (!t) return h("section", {}, h("p", { class: "muted" }, "The selected runs have no records yet."));
    const card = (metric: string, label: string, text: string, raw: number | null, title?: string) =>
      h("div", { class: "card", "data-metric": metric, "data-value": raw === null ? "" : String(raw) },
        h("div", { class: "label" }, label), h("div", { class: "value", title }, ...splitUnit(text)));
    const eq = equivalents(t.co2_kg);
    const scope = t.runs === 1 ? summaries[0].run : `${t.runs} runs`;
    return h("section", { "data-testid": "headline" },
      h("h2", {}, "Totals — ", h("span", { class: "scope" }, scope)),
      h("div", { class: "cards" },
        card("energy_kwh", "Energy (IT)", formatEnergy(t.energy_kwh), t.energy_kwh),
        card("co2_kg", "CO₂e", formatCo2(t.co2_kg), t.co2_kg),
        card("cost", "Cost", formatCost(t.cost, t.currency), t.cost, formatCostExact(t.cost, t.currency)),
        card("duration_s", "Duration", formatDuration(t.duration_s), t.duration_s),
        card("avg_power_w", "Average power", formatPower(t.avg_power_w), t.avg_power_w),
        card("renewable_share", "Renewable share", formatShare(t.renewable_share), t.renewable_share),
        card("low_carbon_share", "Low-carbon share", formatShare(t.low_carbon_share), t.low_carbon_share)),
      h("p", { class: "equivalents", "data-testid": "equivalents" },
        "The CO₂e of driving an average gasoline car ",
        h("strong", { "data-equivalent": "car_km", "data-value": String(eq.carKm) }, formatDistance(eq.carKm)),
        ", or of ",
        h("strong", { "data-equivalent": "phone_charges", "data-value": String(eq.phoneCharges) }, formatCharges(eq.phoneCharges)),
        "."),
      h("p", { class: "note" }, `Factors: ${EQUIVALENTS_SOURCE}. Facility energy (× PUE): ${formatEnergy(t.facility_energy_kwh)}.`));
  }

  private mixSection(summaries: RunSummary[]): HTMLElement {
    const basis = this.mixBasis;
    const rows = summaries.flatMap((s) => [
      { label: s.run, mix: mixOf(s, basis) },
      ...this.stagesOf(s).map((st) => ({ label: summaries.length > 1 ? `${s.run} / ${st.stage}` : st.stage, mix: mixOf(st, basis) })),
    ]);
    const anyMix = rows.some((r) => Object.keys(r.mix).length > 0);
    const bars = this.chart("mix-bars", mixBarsOption(rows, basis));
    bars.style.height = `${barsHeight(rows.length, 40)}px`;
    const factors = [...new Set(summaries.flatMap((s) => s.co2_by_source_factors ?? []))].join("; ") || "unknown";
    const option = (value: MixBasis, text: string) => h("button", {
      type: "button", "data-basis": value, "aria-pressed": String(basis === value),
      onclick: () => { this.mixBasis = value; this.renderContent(); },
    }, text);
    return h("section", { "data-testid": "mix" },
      h("h2", {}, `Grid source mix of the ${basis === "energy" ? "energy used" : "CO₂e emitted"}`),
      h("div", { class: "switch", role: "group", "aria-label": "Split", "data-testid": "mix-basis" },
        option("energy", "Energy"), option("co2", "CO₂e")),
      anyMix
        ? h("div", { class: "grid2" }, this.chart("mix-pie", mixPieOption(sumMix(summaries.map((s) => mixOf(s, basis))), basis), "chart small"), bars)
        : h("p", { class: "muted" }, "No generation mix is known for these runs' locations."),
      h("p", { class: "note" }, basis === "energy"
        ? "Facility energy (IT energy × PUE) split by the grid's generation shares, per run and per stage."
        : "CO₂e split over the grid's sources in proportion to each source's energy × its lifecycle emission factor, "
          + `scaled to the run's or stage's CO₂e (the zone's intensity stays authoritative). Factors: ${factors}.`));
  }

  /** A run's stages, nested ones right under their parent. */
  private stagesOf(s: RunSummary): StageSummary[] {
    const byName = new Map((s.stages ?? []).map((st) => [st.stage, st]));
    return orderStages([...byName.keys()]).map((n) => byName.get(n)!);
  }

  private stageSection(summaries: RunSummary[]): HTMLElement {
    const rows = summaries.flatMap((s, run) => this.stagesOf(s).map((st) => ({ run, s, st })));
    const labels = rows.map((r) => (summaries.length > 1 ? `${r.s.run} / ${r.st.stage}` : r.st.stage));
    const bars = this.chart("stage-bars", barsOption(labels, rows.map((r) => r.st.energy_kwh), "energy", rows.map((r) => r.run)));
    bars.style.height = `${barsHeight(rows.length)}px`;
    return h("section", { "data-testid": "stages" },
      h("h2", {}, "Stages"),
      table(["Run", "Stage", "Energy", "CO₂e", "Cost", "Duration", "Avg power", "Renewable", "Last step"],
        rows.map(({ run, s, st }) => [
          h("span", { class: "run-cell" }, h("span", { class: "swatch", "data-color": String(run % RUN_COLORS.length) }), s.run),
          h("span", { class: `stage depth-${Math.min(depth(st.stage), 3)}`, title: st.stage }, st.stage),
          formatEnergy(st.energy_kwh), formatCo2(st.co2_kg), cost(st.cost, s.currency),
          formatDuration(st.duration_s), formatPower(st.avg_power_w), formatShare(st.renewable_share), String(st.last_step),
        ]), 2),
      h("h3", {}, "Energy per stage"),
      bars);
  }

  private seriesSection(): HTMLElement {
    const m = METRICS[this.metric];
    return h("section", { "data-testid": "series" },
      h("h2", {}, `${m.label} by ${this.x === "step" ? "step" : "wall time"}`),
      this.chart("series", linesOption(stageLines(this.inRunOrder(this.series), this.metric, this.stageOrder()), this.x, m.kind,
        this.currency())),
      h("p", { class: "note" }, "Per stage, as logged to the Scalars tab (float32). Up to "
        + `${POINTS} points per line, downsampled by TensorBoard.`));
  }

  private compareSection(summaries: RunSummary[]): HTMLElement {
    const withData = summaries.filter((s) => s.totals);
    const energy = ratiosToBest(withData.map((s) => s.totals!.energy_kwh));
    const co2 = ratiosToBest(withData.map((s) => s.totals!.co2_kg));
    const x = (r: number | null) => (r === null ? "—" : `×${sig(r, 3)}`);
    return h("section", { "data-testid": "compare" },
      h("h2", {}, "Run comparison"),
      table(["Run", "Location", "Energy", "vs best", "CO₂e", "vs best", "Cost", "Duration", "Avg power", "Low-carbon"],
        withData.map((s, i) => [
          s.run, s.location?.zone ?? "", formatEnergy(s.totals!.energy_kwh), x(energy[i]), formatCo2(s.totals!.co2_kg), x(co2[i]),
          cost(s.totals!.cost, s.currency), formatDuration(s.totals!.duration_s), formatPower(s.totals!.avg_power_w),
          formatShare(s.totals!.low_carbon_share),
        ]), 2));
  }

  private watchedSection(): HTMLElement | null {
    const ws = this.inRunOrder(this.watched).filter((w) => Object.keys(w.stages).length > 0);
    if (ws.length === 0) return null;
    const names = [...new Set(ws.flatMap((w) => Object.values(w.stages).flatMap((m) => Object.keys(m))))].sort();
    return h("section", { "data-testid": "watched" },
      h("h2", {}, "Watched values"),
      h("div", { class: "grid2 even" }, ...names.map((n) => h("div", {},
        h("h3", {}, n),
        this.chart(`watch:${n}`, linesOption(runLines(ws, n), this.x, n.endsWith("_kwh") ? "energy" : "plain"), "chart small")))));
  }

  private provenanceSection(summaries: RunSummary[]): HTMLElement {
    return h("section", { "data-testid": "provenance" },
      h("h2", {}, "Data provenance"),
      ...summaries.filter((s) => s.has_records).map((s) => {
        const dataset = Object.entries(s.dataset ?? {}).map(([k, v]) => `${k}: ${v}`).join("; ");
        return h("div", { class: "provenance" },
          h("h3", {}, s.run),
          this.devicesTable(s.devices ?? []),
          h("p", {}, `Location: ${s.location?.name || s.location?.zone || "?"} (${s.location?.zone ?? "?"}), chosen by ${s.location?.source ?? "?"}. `
            + `PUE ${s.pue}. Carbon intensity ${sig(s.carbon_intensity_g_per_kwh ?? NaN)} g/kWh from ${s.intensity_source}. `
            + `Price ${s.price?.per_kwh == null ? "unknown" : `${sig(s.price.per_kwh, 3)} ${s.price.currency}/kWh`} `
            + `from ${s.price?.source ?? "unknown"}.`),
          dataset ? h("p", { class: "note" }, `Dataset: ${dataset}`) : null,
          h("p", { class: "note" }, s.complete
            ? `All ${s.records_emitted} records kept: device and source splits are exact.`
            : `${s.records_kept} of ${s.records_emitted} records kept by TensorBoard: totals are exact, device and source splits `
              + "use the kept records' shares (start tensorboard with --samples_per_plugin green=0 for exact splits)."),
          h("p", { class: "note" }, `From ${formatTime(s.start_time ?? NaN)} to ${formatTime(s.end_time ?? NaN)}, last step ${s.last_step}.`));
      }));
  }

  /** Devices with the source of their number; a column of what they were doing when any source says. */
  private devicesTable(devices: DeviceSummary[]): HTMLTableElement {
    const contexts = devices.map((d) => formatDeviceContext(d.context));
    const withContext = contexts.some((c) => c !== "");
    const head = ["Device", "Kind", "Source of the number", ...(withContext ? ["Utilisation and memory"] : []), "Energy"];
    return table(head, devices.map((d, i) => [d.device, d.kind,
      h("span", {}, h("span", { class: d.measured ? "badge measured" : "badge" }, d.measured ? "measured" : "modelled"), " ", d.provenance),
      ...(withContext ? [contexts[i] || "—"] : []),
      formatEnergy(d.energy_kwh)]), head.length - 1);
  }

  /** What is shown, as one CSV: a row per selected run and per stage, with the source mix in kWh and CO₂e in kg. */
  csvRows(): Cell[][] {
    const header: Cell[] = ["kind", "run", "stage", "energy_kwh", "facility_energy_kwh", "co2_kg", "cost", "currency", "duration_s",
      "avg_power_w", "renewable_share", "low_carbon_share", ...SOURCES.map((s) => `mix_kwh_${s}`),
      ...SOURCES.map((s) => `co2_kg_${s}`)];
    const bySource = (x: Parameters<typeof mixOf>[0]): Cell[] =>
      (["energy", "co2"] as const).flatMap((basis) => SOURCES.map((src) => mixOf(x, basis)[src] ?? null));
    const rows: Cell[][] = [header];
    for (const s of this.selectedSummaries()) {
      if (!s.totals) continue;
      const t = s.totals;
      rows.push(["run", s.run, "", t.energy_kwh, t.facility_energy_kwh, t.co2_kg, t.cost, s.currency, t.duration_s, t.avg_power_w,
        t.renewable_share, t.low_carbon_share, ...bySource(s)]);
      for (const st of s.stages ?? []) {
        rows.push(["stage", s.run, st.stage, st.energy_kwh, st.facility_energy_kwh, st.co2_kg, st.cost, s.currency, st.duration_s,
          st.avg_power_w, st.renewable_share, st.low_carbon_share, ...bySource(st)]);
      }
    }
    return rows;
  }

  private downloadCsv(): void {
    const blob = new Blob([toCsv(this.csvRows())], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: "green.csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

