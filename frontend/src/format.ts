// Number formatting for the dashboard: SI-scaled units, 4 significant digits.

const SIG = 4;

/** `x` to `SIG` significant digits, without exponent notation for everyday magnitudes. */
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

interface Scale { factor: number; unit: string }

function scaled(x: number, scales: Scale[]): string {
  if (!Number.isFinite(x)) return "—";
  const abs = Math.abs(x);
  const pick = scales.find((s) => abs >= s.factor) ?? scales[scales.length - 1];
  return `${sig(x / pick.factor)} ${pick.unit}`;
}

const ENERGY: Scale[] = [
  { factor: 1e3, unit: "MWh" }, { factor: 1, unit: "kWh" }, { factor: 1e-3, unit: "Wh" }, { factor: 1e-6, unit: "mWh" },
];
const MASS: Scale[] = [
  { factor: 1e3, unit: "t" }, { factor: 1, unit: "kg" }, { factor: 1e-3, unit: "g" }, { factor: 1e-6, unit: "mg" },
];
const POWER: Scale[] = [
  { factor: 1e6, unit: "MW" }, { factor: 1e3, unit: "kW" }, { factor: 1, unit: "W" }, { factor: 1e-3, unit: "mW" },
];

/** Energy given in kWh, e.g. `12.35 Wh`. */
export const formatEnergy = (kwh: number): string => scaled(kwh, ENERGY);
/** CO2-equivalent mass given in kg, e.g. `4.700 g CO₂e`. */
export const formatCo2 = (kg: number): string => `${scaled(kg, MASS)} CO₂e`;
/** Power given in W. */
export const formatPower = (w: number): string => scaled(w, POWER);

/** Cost with its ISO 4217 currency; "unknown" when no price was known. */
export function formatCost(cost: number | null | undefined, currency: string | undefined): string {
  if (cost === null || cost === undefined || !Number.isFinite(cost)) return "unknown";
  return `${sig(cost)} ${currency || "(currency unknown)"}`;
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
