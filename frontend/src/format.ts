// Number formatting for the dashboard, the same rules as greenops_tb/display.py (tests/fixtures/format_cases.json
// holds cases both must pass): every quantity in an SI-prefixed unit picked from its magnitude,
// 4 significant digits in cards and tables, one unit per chart (picked from the chart's largest value).

import type { ContextStats } from "./types";

const SIG = 4;

/** `x` to `digits` significant digits, without exponent notation for everyday magnitudes. */
export function sig(x: number, digits: number = SIG): string {
  if (!Number.isFinite(x)) return "—";
  if (x === 0) return "0";
  const s = Number(x.toPrecision(digits));
  const abs = Math.abs(s);
  if (abs >= 1e-5 && abs < 1e15) {
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
    return s.toFixed(Math.min(decimals, 20));
  }
  return s.toExponential(digits - 1);
}

/** A display unit: a value in the base unit divided by `factor` reads in `unit`. */
export interface Unit { factor: number; unit: string }

/** Base units: kWh, kg CO₂e, W, km; largest first. */
const ENERGY: Unit[] = [
  { factor: 1e6, unit: "GWh" }, { factor: 1e3, unit: "MWh" }, { factor: 1, unit: "kWh" }, { factor: 1e-3, unit: "Wh" },
  { factor: 1e-6, unit: "mWh" }, { factor: 1e-9, unit: "µWh" },
];
const MASS: Unit[] = [
  { factor: 1e3, unit: "t" }, { factor: 1, unit: "kg" }, { factor: 1e-3, unit: "g" }, { factor: 1e-6, unit: "mg" },
  { factor: 1e-9, unit: "µg" },
];
const POWER: Unit[] = [
  { factor: 1e6, unit: "MW" }, { factor: 1e3, unit: "kW" }, { factor: 1, unit: "W" }, { factor: 1e-3, unit: "mW" },
];
const JOULES: Unit[] = [
  { factor: 1e6, unit: "MJ" }, { factor: 1e3, unit: "kJ" }, { factor: 1, unit: "J" }, { factor: 1e-3, unit: "mJ" },
  { factor: 1e-6, unit: "µJ" }, { factor: 1e-9, unit: "nJ" },
];
const SECONDS: Unit[] = [{ factor: 1, unit: "s" }, { factor: 1e-3, unit: "ms" }, { factor: 1e-6, unit: "µs" }];
const DISTANCE: Unit[] = [
  { factor: 1, unit: "km" }, { factor: 1e-3, unit: "m" }, { factor: 1e-6, unit: "mm" }, { factor: 1e-9, unit: "µm" },
];

/** The largest unit in which `x` reads at least 1 (the smallest unit for tinier values and for 0). */
function pick(x: number, units: Unit[]): Unit {
  const abs = Math.abs(x);
  return units.find((u) => abs >= u.factor * (1 - 5e-5)) ?? units[units.length - 1];
}

function scaled(x: number, units: Unit[], digits: number = SIG): string {
  if (!Number.isFinite(x)) return "—";
  const u = pick(x, units);
  return `${sig(x / u.factor, digits)} ${u.unit}`;
}

/** Energy given in kWh, e.g. `12.35 Wh`, `2.804 mWh`. */
export const formatEnergy = (kwh: number): string => scaled(kwh, ENERGY);
/** Joules, e.g. `12.30 J`, `410.0 mJ`, `4.500 kJ`. */
export const formatJoules = (j: number): string => scaled(j, JOULES);
/** `x` (in the base unit of `u`'s quantity) in the unit `u`: the one unit a view picked for a quantity. */
export const formatIn = (x: number, u: Unit): string => (Number.isFinite(x) ? `${sig(x / u.factor)} ${u.unit}` : "—");
/** CO2-equivalent mass given in kg, e.g. `4.700 g CO2e`, `836.9 µg CO2e` (ASCII, as greenops_tb/display.py writes it). */
export const formatCo2 = (kg: number): string => `${scaled(kg, MASS)} CO2e`;
/** Power given in W. */
export const formatPower = (w: number): string => scaled(w, POWER);
/** A short duration given in s, e.g. `19.22 µs`, `4.500 ms`. */
export const formatLatency = (s: number): string => scaled(s, SECONDS);
/** A distance given in km, 3 significant digits: `3.43 mm`, `12.5 km`. */
export const formatDistance = (km: number): string => scaled(km, DISTANCE, 3);

const SUPERSCRIPT: Record<string, string> = {
  "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹",
};
const superscript = (n: number): string => [...String(n)].map((c) => SUPERSCRIPT[c] ?? c).join("");

/** Money below one cent (or one hundredth of any currency unit) is shown as `< 0.01`. */
export const MONEY_MIN = 0.01;

/**
 * Cost in its ISO 4217 currency, as a finance reader expects it: at least 2 decimals, up to 3 significant digits
 * (`0.253 EUR`, `12.35 EUR`, `1,234.50 EUR`); amounts under a cent read `< 0.01 EUR` (see `formatCostExact`);
 * "unknown" when no price was known.
 */
export function formatCost(cost: number | null | undefined, currency: string | undefined): string {
  if (cost === null || cost === undefined || !Number.isFinite(cost)) return "unknown";
  const cur = currency || "(currency unknown)";
  const abs = Math.abs(cost);
  if (abs > 0 && abs < MONEY_MIN) return `< ${MONEY_MIN} ${cur}`;
  const decimals = abs === 0 ? 2 : Math.min(20, Math.max(2, 2 - Math.floor(Math.log10(abs))));
  const text = cost.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: decimals });
  return `${text} ${cur}`;
}

/** The cost to 4 significant digits whatever its size (a tooltip under `formatCost`): `6.370e-7 EUR`. */
export function formatCostExact(cost: number | null | undefined, currency: string | undefined): string {
  if (cost === null || cost === undefined || !Number.isFinite(cost)) return "unknown";
  return `${sig(cost)} ${currency || "(currency unknown)"}`;
}

/** What a quantity of a chart measures; it decides the chart's unit. */
export type Kind = "energy" | "co2" | "power" | "cost" | "joules" | "plain";

/**
 * The one unit of a chart whose largest absolute value is `max` (in the base unit of `kind`).
 * Cost keeps its currency, scaled by a power of ten below a cent: `×10⁻⁷ EUR`.
 */
export function chartUnit(kind: Kind, max: number, currency = ""): Unit {
  const m = Number.isFinite(max) ? Math.abs(max) : 0;
  switch (kind) {
    case "energy": return pick(m, ENERGY);
    case "co2": { const u = pick(m, MASS); return { factor: u.factor, unit: `${u.unit} CO2e` }; }
    case "power": return pick(m, POWER);
    case "joules": return pick(m, JOULES);
    case "cost": {
      const cur = currency || "(currency unknown)";
      if (m === 0 || m >= MONEY_MIN) return { factor: 1, unit: cur };
      const e = Math.floor(Math.log10(m));
      return { factor: 10 ** e, unit: `×10${superscript(e)} ${cur}` };
    }
    default: return { factor: 1, unit: "" };
  }
}

/** The unit of joules per `per` (`sample`, `token`) for values up to `max` J: `mJ / sample`. */
export function perUnit(max: number, per: string): Unit {
  const u = pick(Number.isFinite(max) ? max : 0, JOULES);
  return { factor: u.factor, unit: `${u.unit} / ${per}` };
}

/** What a watched value's name says of its unit: `step_s` seconds, `gpu_kwh` energy, `mem_gb` GB, `util_pct` %. */
const WATCHED_UNITS: [string, (max: number) => Unit][] = [
  ["_kwh", (m) => chartUnit("energy", m)], ["_w", (m) => chartUnit("power", m)], ["_j", (m) => pick(m, JOULES)],
  ["_kg", (m) => chartUnit("co2", m)], ["_s", () => ({ factor: 1, unit: "s" })], ["_ms", () => ({ factor: 1, unit: "ms" })],
  ["_pct", () => ({ factor: 1, unit: "%" })], ["_gb", () => ({ factor: 1, unit: "GB" })], ["_l", () => ({ factor: 1, unit: "L" })],
];
/** A watched value's chart unit from its name's suffix (no unit when the name has none it knows). */
export function watchedUnit(name: string, max: number): Unit {
  const hit = WATCHED_UNITS.find(([suffix]) => name.toLowerCase().endsWith(suffix));
  return hit ? hit[1](Number.isFinite(max) ? Math.abs(max) : 0) : { factor: 1, unit: "" };
}

/** An axis tick already in the chart's unit: float noise removed, no exponent for ticks ECharts picks. */
export function tick(v: number): string {
  if (!Number.isFinite(v)) return "";
  return String(Number(v.toPrecision(6)));
}

/** A chart value (already in `unit`) for a tooltip. */
export const withUnit = (v: number, unit: string): string => (unit ? `${sig(v)} ${unit}` : sig(v));

/**
 * A number of smartphone charges: `67.5 smartphone charges`, `12 % of a smartphone charge`,
 * `1/14,800 of a smartphone charge` (2-3 significant digits).
 */
export function formatCharges(n: number): string {
  if (!Number.isFinite(n)) return "—";
  if (n >= 1) return `${sig(n, 3)} smartphone charge${Number(sig(n, 3)) === 1 ? "" : "s"}`;
  if (n >= 0.01) return `${sig(n * 100, 2)} % of a smartphone charge`;
  if (n <= 0) return "0 smartphone charges";
  const inv = Number((1 / n).toPrecision(3));
  return `1/${inv.toLocaleString("en-US", { maximumFractionDigits: 0 })} of a smartphone charge`;
}

/** Seconds as `1h 02m 03s`, `2m 05s` or `12.35 s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "—";
  if (s < 60) return `${sig(s)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(sec).padStart(2, "0");
  return h > 0 ? `${h}h ${mm}m ${ss}s` : `${m}m ${ss}s`;
}

/** A share in [0, 1] as a percentage with one decimal; "unknown" when null. */
export function formatShare(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "unknown";
  return `${(x * 100).toFixed(1)} %`;
}

/** `other_renewable` -> `Other renewable`. */
export function sourceLabel(source: string): string {
  const s = source.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Unix seconds as a local ISO-like timestamp. */
export function formatTime(unixS: number): string {
  if (!Number.isFinite(unixS)) return "—";
  const d = new Date(unixS * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);

/**
 * A device's context as text: `util 87 %, mem 12.0 GB (peak 12.5 GB)`: mean utilisation, memory in use at the end
 * (its peak when higher), then any other key as `name mean`. Keys the device does not report are left out;
 * "" when it reports none.
 */
export function formatDeviceContext(context: Record<string, ContextStats> | undefined): string {
  const parts: string[] = [];
  const { util_pct: util, mem_used_gb: mem, ...rest } = context ?? {};
  if (util && finite(util.mean)) parts.push(`util ${Math.round(util.mean)} %`);
  if (mem && finite(mem.last)) {
    const peak = finite(mem.max) && mem.max.toFixed(1) !== mem.last.toFixed(1) ? ` (peak ${mem.max.toFixed(1)} GB)` : "";
    parts.push(`mem ${mem.last.toFixed(1)} GB${peak}`);
  }
  for (const key of Object.keys(rest).sort()) {
    if (finite(rest[key].mean)) parts.push(`${key} ${sig(rest[key].mean, 3)}`);
  }
  return parts.join(", ");
}

const VOLUME: Unit[] = [
  { factor: 1e6, unit: "ML" }, { factor: 1e3, unit: "m³" }, { factor: 1, unit: "L" }, { factor: 1e-3, unit: "mL" },
  { factor: 1e-6, unit: "µL" }, { factor: 1e-9, unit: "nL" },
];
/** Water given in litres, e.g. `1.234 L`, `56.78 mL`; "unknown" for null (never 0). */
export const formatWater = (litres: number | null | undefined): string =>
  litres == null ? "unknown" : scaled(litres, VOLUME);
/** Embodied CO₂e given in kg; "unknown" for null (never 0). */
export const formatEmbodied = (kg: number | null | undefined): string => (kg == null ? "unknown" : formatCo2(kg));
