// The totals cards (with the efficiency cards of one run), and their everyday equivalents further down.

import { combineTotals, equivalents, EQUIVALENTS_SOURCE } from "../aggregate";
import { h } from "../dom";
import {
  formatCharges, formatCost, formatCostExact, formatDistance, formatDuration, formatIn, formatShare,
} from "../format";
import type { RunSummary } from "../types";
import { splitUnit, type ViewUnits } from "./common";
import { efficiencyCards } from "./decisions";

export function headlineSection(summaries: RunSummary[], units: ViewUnits): HTMLElement {
  const t = combineTotals(summaries);
  if (!t) return h("section", {}, h("p", { class: "muted" }, "The selected runs have no records yet."));
  const card = (metric: string, label: string, text: string, raw: number | null, title?: string) =>
    h("div", { class: "card", "data-metric": metric, "data-value": raw === null ? "" : String(raw) },
      h("div", { class: "label" }, label), h("div", { class: "value", title }, ...splitUnit(text)));
  const scope = t.runs === 1 ? summaries[0].run : `${t.runs} runs`;
  return h("section", { "data-testid": "headline" },
    h("h2", {}, "Totals — ", h("span", { class: "scope" }, scope)),
    h("div", { class: "cards" },
      card("energy_kwh", "Energy (IT)", formatIn(t.energy_kwh, units.energy), t.energy_kwh),
      card("co2_kg", "CO₂e", formatIn(t.co2_kg, units.co2), t.co2_kg),
      card("cost", "Cost", formatCost(t.cost, t.currency), t.cost, formatCostExact(t.cost, t.currency)),
      card("duration_s", "Duration", formatDuration(t.duration_s), t.duration_s),
      card("avg_power_w", "Average power", formatIn(t.avg_power_w, units.power), t.avg_power_w),
      card("renewable_share", "Renewable share", formatShare(t.renewable_share), t.renewable_share),
      card("low_carbon_share", "Low-carbon share", formatShare(t.low_carbon_share), t.low_carbon_share)),
    efficiencyCards(summaries));
}

/** The CO₂e in everyday terms, and the facility energy: below the charts. */
export function everydaySection(summaries: RunSummary[], units: ViewUnits): HTMLElement | null {
  const t = combineTotals(summaries);
  if (!t) return null;
  const eq = equivalents(t.co2_kg);
  return h("section", { "data-testid": "everyday" },
    h("h2", {}, "In everyday terms"),
    h("p", { class: "equivalents", "data-testid": "equivalents" },
      "The CO₂e of driving an average gasoline car ",
      h("strong", { "data-equivalent": "car_km", "data-value": String(eq.carKm) }, formatDistance(eq.carKm)),
      ", or of ",
      h("strong", { "data-equivalent": "phone_charges", "data-value": String(eq.phoneCharges) }, formatCharges(eq.phoneCharges)),
      "."),
    h("p", { class: "note" }, `Factors: ${EQUIVALENTS_SOURCE}. Facility energy (IT energy × PUE): `
      + `${formatIn(t.facility_energy_kwh, units.energy)}.`));
}
