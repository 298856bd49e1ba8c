// The controls: the toolbar above the sections (the main chart's switches are in its section) and the run list on the left. Builders only; the app holds the state.

import { filterRuns } from "./aggregate";
import { fill, h } from "./dom";
import type { RunInfo } from "./types";

export type Theme = "auto" | "light" | "dark";

export interface ToolbarState {
  theme: Theme;
  autoRefresh: boolean;
}

export interface ToolbarActions {
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
    select("Theme", s.theme, [["auto", "Auto"], ["light", "Light"], ["dark", "Dark"]], (v) => on.theme(v as Theme), "theme"),
    h("label", {},
      h("input", { type: "checkbox", checked: s.autoRefresh, "data-testid": "auto-refresh",
        onchange: (ev: Event) => on.autoRefresh((ev.target as HTMLInputElement).checked) }),
      "Auto-refresh"),
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
