// The Green tab: its state, loading through the API, and the wiring of controls to the section renderers.

import type { ECharts } from "echarts/core";
import { filterRuns, orderStages, type MixBasis, type XAxis } from "./aggregate";
import { api, LatestOnly } from "./api";
import { makeChart, type Option } from "./charts";
import { fillRunList, toolbar, type Theme } from "./controls";
import { summaryRows, toCsv } from "./csv";
import { fill, h, type Child } from "./dom";
import { CSS } from "./styles";
import { Disclosure, POINTS, viewUnits, type SectionContext } from "./sections/common";
import { footprintSection } from "./sections/footprint";
import { everydaySection, headlineSection } from "./sections/headline";
import { mixSection } from "./sections/mix";
import { provenanceSection } from "./sections/provenance";
import { seriesSection, watchedSection, type SeriesView } from "./sections/series";
import { compareSection, jobSection, stageSection } from "./sections/tables";
import { VariantsPanel } from "./sections/variants";
import { efficiencySection, whatifSection, WHATIF_TOP } from "./sections/decisions";
import type { RunInfo, RunSummary, SeriesResponse, WatchedResponse, WhatIfResponse, WhatIfScope } from "./types";

/** How often auto-refresh asks for the run list; the selected runs' data is reloaded only when it changed. */
export const REFRESH_MS = 5_000;
const DEFAULT_SELECTED = 5;

/** What changes when a run gets a record or a stage: reload its data only then. */
const runsKey = (runs: RunInfo[]): string =>
  JSON.stringify(runs.map((r) => [r.run, r.stages, r.max_step, r.max_wall_time]));

/** A User Timing mark set when the first chart is drawn (DevTools' Performance panel; benchmarks read it). */
export const FIRST_CHART_MARK = "green:first-chart";

export class GreenApp {
  private runs: RunInfo[] = [];
  private selected = new Set<string>();
  /** Set once the user picks runs (a checkbox, All, None): from then on new runs are not selected for them. */
  private userChose = false;
  private loadedKey = "";
  private filter = "";
  private x: XAxis = "step";
  private metric = "energy_kwh";
  private mixBasis: MixBasis = "energy";
  private theme: Theme = "auto";
  private autoRefresh = true;
  private summaries = new Map<string, RunSummary>();
  private series = new Map<string, SeriesResponse>();
  private watched = new Map<string, WatchedResponse>();
  private whatif: WhatIfResponse | undefined; // the first selected run's, as `greenops-tb whatif --json`
  private whatifScope: WhatIfScope = "choices";
  private readonly fold = new Disclosure();
  private charts = new Map<string, ECharts>();
  private seriesLoaded = false;
  private timer: number | undefined;
  private readonly loads = new LatestOnly();
  private readonly variants = new VariantsPanel(() => this.renderContent()); // the inference bench of the selection

  private readonly status = h("div", { class: "status", role: "status", "data-testid": "status" }, "Loading…");
  private readonly runList = h("ul", { class: "runlist", "data-testid": "runs" });
  private readonly content = h("div", { "data-testid": "content" });

  constructor(private readonly root: HTMLElement) {}

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
    const bar = toolbar({ theme: this.theme, autoRefresh: this.autoRefresh }, {
      theme: (v) => this.setTheme(v),
      autoRefresh: (on) => { this.autoRefresh = on; },
      refresh: () => void this.refresh(),
      downloadCsv: () => this.downloadCsv(),
    });
    fill(this.root, h("div", { class: "layout" }, aside, h("main", {}, bar, this.status, this.content)));
    window.addEventListener("resize", () => this.charts.forEach((c) => c.resize()));
    void this.refresh();
    this.timer = window.setInterval(() => {
      if (this.autoRefresh && !document.hidden) void this.refresh(false);
    }, REFRESH_MS);
  }

  dispose(): void {
    window.clearInterval(this.timer);
    this.charts.forEach((c) => c.dispose());
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

  /**
   * Load the run list; then the selected runs' data, if `force` or anything changed (a new run, stage or record).
   * Until the user picks runs, the latest runs are selected, so a tab opened before training follows the new run.
   */
  async refresh(force = true): Promise<void> {
    try {
      const { runs } = await api.runs();
      this.runs = runs;
      const names = new Set(runs.map((r) => r.run));
      for (const r of [...this.selected]) if (!names.has(r)) this.selected.delete(r);
      if (!this.userChose) this.selected = new Set(runs.slice(-DEFAULT_SELECTED).map((r) => r.run));
      const key = JSON.stringify([runsKey(runs), [...this.selected]]);
      if (!force && key === this.loadedKey) return;
      this.loadedKey = key;
      this.renderRunList();
      await this.loadSelected();
    } catch (err) {
      this.loadedKey = ""; // reload everything once TensorBoard answers again
      const why = err instanceof TypeError ? "TensorBoard did not answer (is it still running?)" : (err as Error).message;
      this.setStatus(`Could not load the green data: ${why}. The numbers below are from the last refresh; `
        + "retrying on the next one.", "error");
      document.body.dataset.state = "error";
    }
  }

  /** Summaries first (cards, mix, stages render at once), then the series and watched values; a later load wins. */
  private async loadSelected(): Promise<void> {
    const current = this.loads.begin();
    const runs = this.runs.map((r) => r.run).filter((r) => this.selected.has(r));
    const summaries = await Promise.all(runs.map((r) => api.summary(r)));
    if (!current()) return;
    this.summaries = new Map(runs.map((r, i) => [r, summaries[i]]));
    for (const cache of [this.series, this.watched]) {
      for (const r of [...cache.keys()]) if (!this.selected.has(r)) cache.delete(r);
    }
    this.seriesLoaded = false;
    this.renderContent();
    void this.variants.load(runs);
    const [series, whatif] = await Promise.all([
      Promise.all(runs.map((r) => Promise.all([api.series(r, POINTS), api.watched(r, POINTS)]))),
      this.loadWhatif(runs[0])]);
    if (!current()) return;
    this.whatif = whatif;
    runs.forEach((r, i) => {
      this.series.set(r, series[i][0]);
      this.watched.set(r, series[i][1]);
    });
    this.seriesLoaded = true;
    this.renderContent();
  }

  /** The same run elsewhere for `run` (the first selected); a run without records has no what-if. */
  private async loadWhatif(run: string | undefined): Promise<WhatIfResponse | undefined> {
    if (run === undefined || !this.summaries.get(run)?.has_records) return undefined;
    return api.whatif(run, WHATIF_TOP, this.whatifScope);
  }

  private setWhatifScope(scope: WhatIfScope): void {
    this.whatifScope = scope;
    const run = [...this.summaries.keys()][0];
    void this.loadWhatif(run).then((w) => { this.whatif = w; this.renderContent(); })
      .catch((err: Error) => this.setStatus(err.message, "error"));
  }

  private reload(): void {
    void this.loadSelected().catch((err: Error) => this.setStatus(err.message, "error"));
  }

  private selectVisible(on: boolean): void {
    this.userChose = true;
    for (const r of filterRuns(this.runs, this.filter)) {
      if (on) this.selected.add(r.run);
      else this.selected.delete(r.run);
    }
    this.renderRunList();
    this.reload();
  }

  private renderRunList(): void {
    fillRunList(this.runList, this.runs, this.filter, this.selected, (run, on) => {
      this.userChose = true;
      if (on) this.selected.add(run);
      else this.selected.delete(run);
      this.reload();
    });
  }

  /** A chart in a new element; the first one drawn sets FIRST_CHART_MARK. */
  private readonly chart = (key: string, option: Option, cls = "chart"): HTMLElement => {
    const el = h("div", { class: cls, "data-chart": key });
    this.charts.get(key)?.dispose();
    const chart = makeChart(el, this.isDark(), () => {
      el.dataset.rendered = "1";
      if (performance.getEntriesByName(FIRST_CHART_MARK, "mark").length === 0) performance.mark(FIRST_CHART_MARK);
    });
    chart.setOption(option);
    Object.defineProperty(el, "echarts", { value: chart }); // the element's chart, for DevTools and browser tests
    this.charts.set(key, chart);
    requestAnimationFrame(() => chart.resize());
    return el;
  };

  private seriesView(summaries: RunSummary[]): SeriesView {
    const inRunOrder = <T>(cache: Map<string, T>): T[] => summaries.flatMap((s) => cache.get(s.run) ?? []);
    const currencies = new Set(summaries.map((s) => s.currency ?? ""));
    return {
      series: inRunOrder(this.series),
      watched: inRunOrder(this.watched),
      stageOrder: orderStages([...new Set(summaries.flatMap((s) => (s.stages ?? []).map((st) => st.stage)))]),
      currency: currencies.size === 1 ? [...currencies][0] : "",
      x: this.x,
      metric: this.metric,
    };
  }

  private renderContent(): void {
    this.charts.forEach((c) => c.dispose());
    this.charts.clear();
    const summaries = [...this.summaries.values()];
    const empty = this.runs.length === 0
      ? "No green data yet. Log a run with greenops_tb.GreenSummaryWriter into this logdir; "
        + `this tab checks for new data every ${REFRESH_MS / 1000} s and shows new runs as they start.`
      : summaries.length === 0 ? "Select one or more runs on the left." : null;
    if (empty !== null) {
      this.setStatus(empty);
      fill(this.content);
      document.body.dataset.state = "empty";
      return;
    }
    this.setStatus("", "none");
    const ctx: SectionContext = {
      summaries, view: this.seriesView(summaries), units: viewUnits(summaries), chart: this.chart, fold: this.fold,
    };
    const { view, units, chart } = ctx;
    const single = summaries.length === 1 ? summaries[0] : undefined;
    const sections: Child[] = [
      // 1. what a user came for: the totals
      headlineSection(summaries, units),
      // 2. the main chart: a metric per stage over steps or time, with its switches
      seriesSection(view, chart, summaries, units, {
        metric: (m) => { this.metric = m; this.renderContent(); },
        x: (x) => { this.x = x; this.renderContent(); },
      }),
      // the variants of an inference bench, when the selected runs are one
      this.variants.section(chart),
      // 3. where the energy went, and where else the run could go
      stageSection(summaries, chart, units),
      jobSection(summaries),
      summaries.length > 1 ? compareSection(summaries, units) : null,
      mixSection(summaries, this.mixBasis, chart, (basis) => { this.mixBasis = basis; this.renderContent(); }, units),
      whatifSection({ data: this.whatif, scope: this.whatifScope, setScope: (sc) => this.setWhatifScope(sc),
        co2: units.co2, energyUnit: units.energy }, chart),
      efficiencySection(view, chart, single?.efficiency),
      watchedSection(view, chart, units),
      everydaySection(summaries, units),
      // 4. the fine print, collapsible: the footprint beside the CO₂e, and where every number comes from
      footprintSection(summaries, ctx.fold),
      provenanceSection(summaries, ctx.fold),
    ];
    fill(this.content, ...sections);
    document.body.dataset.state = this.seriesLoaded ? "ready" : "partial";
  }

  private downloadCsv(): void {
    const blob = new Blob([toCsv(summaryRows([...this.summaries.values()]))], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: "green.csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
