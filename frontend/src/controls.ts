// The controls: the toolbar above the sections and the run list on the left. Builders only; the app holds the state.

import { filterRuns, type XAxis } from "./aggregate";
import { fill, h } from "./dom";
import { METRICS } from "./sections/common";
import type { RunInfo } from "./types";

export type Theme = "auto" | "light" | "dark";

export interface ToolbarState {
  metric: string;
  x: XAxis;
  theme: Theme;
  autoRefresh: boolean;
}

export interface ToolbarActions {
  metric(v: string): void;
  x(v: XAxis): void;
  theme(v: Theme): void;
  autoRefresh(on: boolean): void;
  refresh(): void;
  downloadCsv(): void;
}

export function toolbar(s: ToolbarState, on: ToolbarActions): HTMLElement {
  const select = (label: string, value: string, options: [string, string][], set: (v: string) => void, testid: string) =>
    h("label", {}, label,
      h("select", { "data-testid": testid, onchange: (ev: Event) => set((ev.target as HTMLSelectElement).value) },
        ...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
  return h("div", { class: "toolbar" },
    select("Metric", s.metric, Object.entries(METRICS).map(([k, m]) => [k, m.label]), (v) => on.metric(v), "metric"),
    select("X axis", s.x, [["step", "Step"], ["wall_time", "Wall time"]], (v) => on.x(v as XAxis), "x-axis"),
    select("Theme", s.theme, [["auto", "Auto"], ["light", "Light"], ["dark", "Dark"]], (v) => on.theme(v as Theme), "theme"),
    h("label", {},
      h("input", { type: "checkbox", checked: s.autoRefresh, "data-testid": "auto-refresh",
        onchange: (ev: Event) => on.autoRefresh((ev.target as HTMLInputElement).checked) }),
      "Auto-refresh (30 s)"),
    h("button", { type: "button", onclick: () => on.refresh() }, "Refresh"),
    h("button", { type: "button", "data-testid": "download-csv", onclick: () => on.downloadCsv() }, "Download CSV"));
}

/** Fill `list` with a checkbox per run that matches `filter`; `toggle(run, on)` reports a click. */
export function fillRunList(list: HTMLElement, runs: RunInfo[], filter: string, selected: ReadonlySet<string>,
  toggle: (run: string, on: boolean) => void): void {
  const visible = filterRuns(runs, filter);
  fill(list, ...visible.map((r) => h("li", {},
    h("label", { title: r.run },
      h("input", {
        type: "checkbox", checked: selected.has(r.run), "data-run": r.run,
        onchange: (ev: Event) => toggle(r.run, (ev.target as HTMLInputElement).checked),
      }),
      h("span", { class: "run-name" }, r.run)))));
  if (visible.length === 0 && runs.length > 0) fill(list, h("li", { class: "muted" }, "No run matches the filter."));
}
