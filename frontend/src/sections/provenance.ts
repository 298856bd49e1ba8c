// Where every number comes from: devices and their sources, location, intensity, price, dataset, retention.

import { h, table } from "../dom";
import { formatDeviceContext, formatEnergy, formatTime, sig } from "../format";
import type { DeviceSummary, RunSummary } from "../types";

export function provenanceSection(summaries: RunSummary[]): HTMLElement {
  return h("section", { "data-testid": "provenance" },
    h("h2", {}, "Data provenance"),
    ...summaries.filter((s) => s.has_records).map((s) => {
      const dataset = Object.entries(s.dataset ?? {}).map(([k, v]) => `${k}: ${v}`).join("; ");
      return h("div", { class: "provenance" },
        h("h3", {}, s.run),
        devicesTable(s.devices ?? []),
        h("p", {}, `Location: ${s.location?.name || s.location?.zone || "?"} (${s.location?.zone ?? "?"}), chosen by ${s.location?.source ?? "?"}. `
          + `PUE ${s.pue}. Carbon intensity ${sig(s.carbon_intensity_g_per_kwh ?? NaN)} g/kWh from ${s.intensity_source}. `
          + `Price ${s.price?.per_kwh == null ? "unknown" : `${sig(s.price.per_kwh, 3)} ${s.price.currency}/kWh`} `
          + `from ${s.price?.source ?? "unknown"}.`),
        dataset ? h("p", { class: "note" }, `Dataset: ${dataset}`) : null,
        h("p", { class: "note" }, s.complete
          ? `All ${s.records_emitted} records kept: device and source splits are exact.`
          : `${s.records_kept} of ${s.records_emitted} records kept by TensorBoard: totals are exact, device and source splits `
            + "use the kept records' shares (start tensorboard with --samples_per_plugin green=0 for exact splits)."),
        s.malformed_skipped
          ? h("p", { class: "note", "data-testid": "malformed" }, `${s.malformed_skipped} malformed records skipped `
            + "(not green records: wrong JSON shape or field types).")
          : null,
        h("p", { class: "note" }, `From ${formatTime(s.start_time ?? NaN)} to ${formatTime(s.end_time ?? NaN)}, last step ${s.last_step}.`));
    }));
}

/** Devices with the source of their number; a column of what they were doing when any source says. */
function devicesTable(devices: DeviceSummary[]): HTMLTableElement {
  const contexts = devices.map((d) => formatDeviceContext(d.context));
  const withContext = contexts.some((c) => c !== "");
  const head = ["Device", "Kind", "Source of the number", ...(withContext ? ["Utilisation and memory"] : []), "Energy"];
  return table(head, devices.map((d, i) => [d.device, d.kind,
    h("span", {}, h("span", { class: d.measured ? "badge measured" : "badge" }, d.measured ? "measured" : "modelled"), " ", d.provenance),
    ...(withContext ? [contexts[i] || "—"] : []),
    formatEnergy(d.energy_kwh)]), head.length - 1);
}
