// RFC 4180 CSV of what the dashboard shows, safe to open in a spreadsheet.

export type Cell = string | number | null | undefined;

const FORMULA_LEAD = /^[=+\-@\t\r]/;

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
