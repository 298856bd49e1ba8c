// RFC 4180 CSV of what the dashboard shows, safe to open in a spreadsheet.

import { mixOf } from "./aggregate";
import { SOURCES, type RunSummary, type StageFootprint } from "./types";

export type Cell = string | number | null | undefined;

// fullwidth ＝ ＋ － ＠ too: some spreadsheets convert them to = + - @ and run the formula
const FORMULA_LEAD = /^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/;

/** One cell: numbers in full precision, text neutralised if a spreadsheet would run it, quoted if needed. */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : String(value).toLowerCase();
  let s = value;
  if (FORMULA_LEAD.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: Cell[][]): string {
  return rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** What is shown, as rows: one per run and per stage, with the source mix in kWh and CO₂e in kg (a header first). */
export function summaryRows(summaries: RunSummary[]): Cell[][] {
  const header: Cell[] = ["kind", "run", "stage", "energy_kwh", "facility_energy_kwh", "co2_kg", "cost", "currency", "duration_s",
    "avg_power_w", "renewable_share", "low_carbon_share", ...SOURCES.map((s) => `mix_kwh_${s}`),
    ...SOURCES.map((s) => `co2_kg_${s}`), "embodied_kg", "water_onsite_l", "water_offsite_l"];
  const fp = (f: StageFootprint | undefined): Cell[] => [f?.embodied_kg, f?.water_onsite_l, f?.water_offsite_l];
  const bySource = (x: Parameters<typeof mixOf>[0]): Cell[] =>
    (["energy", "co2"] as const).flatMap((basis) => SOURCES.map((src) => mixOf(x, basis)[src] ?? null));
  const rows: Cell[][] = [header];
  for (const s of summaries) {
    if (!s.totals) continue;
    const t = s.totals;
    rows.push(["run", s.run, "", t.energy_kwh, t.facility_energy_kwh, t.co2_kg, t.cost, s.currency, t.duration_s, t.avg_power_w,
      t.renewable_share, t.low_carbon_share, ...bySource(s), ...fp(s.footprint)]);
    for (const st of s.stages ?? []) {
      rows.push(["stage", s.run, st.stage, st.energy_kwh, st.facility_energy_kwh, st.co2_kg, st.cost, s.currency, st.duration_s,
        st.avg_power_w, st.renewable_share, st.low_carbon_share, ...bySource(st), ...fp(s.footprint?.stages[st.stage])]);
    }
  }
  return rows;
}
