// The grid source mix of the selected runs and their stages, by energy or by CO₂e.

import { mixOf, sumMix, type MixBasis } from "../aggregate";
import { barsHeight, mixBarsOption, mixPieOption } from "../charts";
import { h } from "../dom";
import type { RunSummary } from "../types";
import { stagesOf, type ChartFactory, type ViewUnits } from "./common";

export function mixSection(summaries: RunSummary[], basis: MixBasis, chart: ChartFactory,
  onBasis: (basis: MixBasis) => void, units: ViewUnits): HTMLElement {
  const unit = basis === "energy" ? units.energy : units.co2;
  const rows = summaries.flatMap((s) => [
    { label: s.run, mix: mixOf(s, basis) },
    ...stagesOf(s).map((st) => ({ label: summaries.length > 1 ? `${s.run} / ${st.stage}` : st.stage, mix: mixOf(st, basis) })),
  ]);
  const anyMix = rows.some((r) => Object.keys(r.mix).length > 0);
  const bars = chart("mix-bars", mixBarsOption(rows, basis, unit));
  bars.style.height = `${barsHeight(rows.length, 40)}px`;
  const factors = [...new Set(summaries.flatMap((s) => s.co2_by_source_factors ?? []))].join("; ") || "unknown";
  const option = (value: MixBasis, text: string) => h("button", {
    type: "button", "data-basis": value, "aria-pressed": String(basis === value), onclick: () => onBasis(value),
  }, text);
  return h("section", { "data-testid": "mix" },
    h("h2", {}, `Grid source mix of the ${basis === "energy" ? "energy used" : "CO₂e emitted"}`),
    h("div", { class: "switch", role: "group", "aria-label": "Split", "data-testid": "mix-basis" },
      option("energy", "Energy"), option("co2", "CO₂e")),
    anyMix
      ? h("div", { class: "grid2" }, chart("mix-pie", mixPieOption(sumMix(summaries.map((s) => mixOf(s, basis))), basis, unit),
        "chart small"), bars)
      : h("p", { class: "muted" }, "No generation mix is known for these runs' locations."),
    h("p", { class: "note" }, basis === "energy"
      ? "Facility energy (IT energy × PUE) split by the grid's generation shares, per run and per stage."
      : "CO₂e split over the grid's sources in proportion to each source's energy × its lifecycle emission factor, "
        + `scaled to the run's or stage's CO₂e (the zone's intensity stays authoritative). Factors: ${factors}.`));
}
