// The stage table (with its energy bars) and the run comparison.

import { depth, ratiosToBest } from "../aggregate";
import { barsHeight, barsOption } from "../charts";
import { h, table } from "../dom";
import { formatDuration, formatIn, formatShare, sig } from "../format";
import { RUN_COLORS } from "../styles";
import type { RunSummary } from "../types";
import { cost, stagesOf, type ChartFactory, type ViewUnits } from "./common";
import { efficiencyCell } from "./decisions";

/** The stage table and its energy bars, every quantity in the view's unit. */
export function stageSection(summaries: RunSummary[], chart: ChartFactory, u: ViewUnits): HTMLElement {
  const rows = summaries.flatMap((s, run) => stagesOf(s).map((st) => ({ run, s, st })));
  const labels = rows.map((r) => (summaries.length > 1 ? `${r.s.run} / ${r.st.stage}` : r.st.stage));
  const bars = chart("stage-bars", barsOption(labels, rows.map((r) => r.st.energy_kwh), "energy", rows.map((r) => r.run),
    u.energy));
  bars.style.height = `${barsHeight(rows.length)}px`;
  return h("section", { "data-testid": "stages" },
    h("h2", {}, "Stages"),
    table(["Run", "Stage", "Energy", "CO₂e", "Cost", "Duration", "Avg power", "Renewable", "Per unit", "Last step"],
      rows.map(({ run, s, st }) => [
        h("span", { class: "run-cell" }, h("span", { class: "swatch", "data-color": String(run % RUN_COLORS.length) }), s.run),
        h("span", { class: `stage depth-${Math.min(depth(st.stage), 3)}`, title: st.stage }, st.stage),
        formatIn(st.energy_kwh, u.energy), formatIn(st.co2_kg, u.co2), cost(st.cost, s.currency),
        formatDuration(st.duration_s), formatIn(st.avg_power_w, u.power), formatShare(st.renewable_share),
        h("span", { "data-efficiency": st.stage }, efficiencyCell(s, st.stage)), String(st.last_step),
      ]), 2),
    h("h3", {}, "Energy per stage"),
    bars);
}

export function compareSection(summaries: RunSummary[], u: ViewUnits): HTMLElement {
  const withData = summaries.filter((s) => s.totals);
  const energy = ratiosToBest(withData.map((s) => s.totals!.energy_kwh));
  const co2 = ratiosToBest(withData.map((s) => s.totals!.co2_kg));
  const x = (r: number | null) => (r === null ? "—" : `×${sig(r, 3)}`);
  return h("section", { "data-testid": "compare" },
    h("h2", {}, "Run comparison"),
    table(["Run", "Location", "Energy", "vs best", "CO₂e", "vs best", "Cost", "Duration", "Avg power", "Low-carbon"],
      withData.map((s, i) => [
        s.run, s.location?.zone ?? "", formatIn(s.totals!.energy_kwh, u.energy), x(energy[i]), formatIn(s.totals!.co2_kg, u.co2),
        x(co2[i]), cost(s.totals!.cost, s.currency), formatDuration(s.totals!.duration_s),
        formatIn(s.totals!.avg_power_w, u.power),
        formatShare(s.totals!.low_carbon_share),
      ]), 2));
}
