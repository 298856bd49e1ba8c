// Where every number comes from: devices and their sources, location, intensity, price, dataset, retention.

import { h, table } from "../dom";
import { formatDeviceContext, formatEnergy, formatTime, sig } from "../format";
import type { DeviceSummary, RunSummary } from "../types";
import type { Disclosure } from "./common";

/** Collapsible: how many devices were measured in the summary line; open when every device was measured. */
export function provenanceSection(summaries: RunSummary[], fold: Disclosure): HTMLElement {
  const runs = summaries.filter((s) => s.has_records);
  const devices = runs.flatMap((s) => s.devices ?? []);
  const measured = devices.filter((d) => d.measured).length;
  const zones = [...new Set(runs.map((s) => s.location?.zone ?? "?"))].join(", ");
  return fold.details("provenance", devices.length > 0 && measured === devices.length, [
    h("h2", {}, "Data provenance"),
    h("span", { class: "hint" }, `${measured} of ${devices.length} devices measured, the rest modelled; `
      + `grid ${zones || "unknown"}`)],
    ...runs.map((s) => {
      const dataset = Object.entries(s.dataset ?? {}).map(([k, v]) => `${k}: ${v}`).join("; ");
      return h("div", { class: "provenance" },
        h("h3", {}, s.run),
        devicesTable(s.devices ?? []),
        h("p", {}, `Location: ${s.location?.name || s.location?.zone || "?"} (${s.location?.zone ?? "?"}), chosen by ${s.location?.source ?? "?"}. `
          + `PUE ${s.pue}. Carbon intensity ${sig(s.carbon_intensity_g_per_kwh ?? NaN)} g/kWh from ${s.intensity_source}. `
          + `Price ${s.price?.per_kwh == null ? "unknown" : `${sig(s.price.per_kwh, 3)} ${s.price.currency}/kWh`} `
          + `from ${s.price?.source ?? "unknown"}.`),
        dataset ? h("p", { class: "note" }, `Dataset: ${dataset}`) : null,
        s.complete ? null : h("p", { class: "note" }, `Series and device context from ${s.records_kept} of `
          + `${s.records_emitted} records kept by TensorBoard (tensorboard --samples_per_plugin scalars=0,green=0 keeps all). `
          + (s.splits_exact ? "" : "Device and source splits use the kept records' shares (run written by an older "
            + "greenops_tb).")),
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
