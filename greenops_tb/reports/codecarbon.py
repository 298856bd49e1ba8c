"""A CodeCarbon-compatible ``emissions.csv``: one row per run, CodeCarbon's columns, order and units.

Columns as CodeCarbon 3.3.2 writes them (``codecarbon/output_methods/emissions_data.py``, ``EmissionsData``).
Units as CodeCarbon's: ``duration`` s, ``emissions`` kg CO2e, ``emissions_rate`` kg/s, ``*_power`` W,
``*_energy`` and ``energy_consumed`` kWh. Like CodeCarbon, power and energy include the PUE (CodeCarbon
multiplies both by it). Mapping from our records (also in README.md):

* ``timestamp``: the run's end, ``%Y-%m-%dT%H:%M:%S`` (UTC); ``project_name``: the run's name;
  ``run_id``: a UUID derived from the run name and start time (stable across exports); ``experiment_id``: empty
* ``duration``, ``emissions``, ``*_energy``: the run's totals (every joule once); ``*_power``: energy / duration
* ``country_name``/``country_iso_code`` (alpha-3)/``region``: the zone of the run; ``on_cloud``: ``Y`` when the
  location came from a cloud region; ``tracking_mode``: ``machine`` when a CPU was read with RAPL (whole
  sockets), else ``process``
* ``cpu_count``/``gpu_count``: devices measured (CPU packages, GPUs); ``*_model``: their names
* what the run did not record is empty, never invented: ``os``, ``python_version``, ``codecarbon_version``,
  ``longitude``, ``latitude``, ``ram_total_size``, ``cpu``/``ram`` utilisation, ``ram_used_gb``;
  ``water_consumed`` is 0 with ``wue`` 0 (CodeCarbon's own default when no WUE is given)
"""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable

from greenops_tb.analysis.uncertainty import base_label
from greenops_tb.grid.dataset import load as load_dataset
from greenops_tb.readers.events import RunData
from greenops_tb.reports.facts import Facts

COLUMNS: tuple[str, ...] = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)
from greenops_tb.format.units import J_PER_KWH  # noqa: E402


def _alpha3(country: str) -> str:
    ds = load_dataset()
    return next((a.upper() for a, k in ds.aliases.items() if k == country and len(a) == 3 and a.isalpha()), "")


def _gpu_util(data: RunData) -> str:
    """Duration-weighted mean GPU utilisation over the kept records, '' when no GPU reported it."""
    num = den = 0.0
    for r in data.records:
        for d in r.devices.values():
            if d.kind == "gpu" and "util_pct" in d.context:
                num += d.context["util_pct"] * r.duration_s
                den += r.duration_s
    return repr(num / den) if den > 0 else ""


def row(data: RunData, f: Facts) -> dict[str, Any]:
    """One run as CodeCarbon's ``EmissionsData`` row (see the module docstring)."""
    last = data.records[-1]
    kinds = {k: sum(d.energy_kwh for d in f.devices if d.kind == k) for k in ("cpu", "gpu", "ram")}
    dur, pue = f.duration_s, f.pue
    ds = load_dataset()
    zone = ds.zones.get(f.location)
    country = zone.country if zone is not None and zone.country else f.location
    country_zone = ds.zones.get(country)
    cpus = [d for d in f.devices if d.kind == "cpu"]
    gpus = [d for d in f.devices if d.kind == "gpu"]
    cloud = f.location_source.endswith(":cloud") or f.location_source == "cloud-metadata"
    out = {c: "" for c in COLUMNS}
    out.update(
        timestamp=datetime.fromtimestamp(f.end_time, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        project_name=f.run,
        run_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"greenops_tb:{f.run}:{f.start_time!r}")),
        duration=repr(dur), emissions=repr(f.co2_kg.value),
        emissions_rate=repr(f.co2_kg.value / dur if dur > 0 else 0.0),
        energy_consumed=repr(last.run_energy_kwh * pue), water_consumed="0.0",
        country_name=country_zone.name if country_zone else f.location_name, country_iso_code=_alpha3(country),
        region=f.location_name.lower() if zone is not None and zone.kind != "country" else "",
        cpu_count=str(len(cpus)) if cpus else "", cpu_model=", ".join(sorted({d.name for d in cpus})),
        gpu_count=str(len(gpus)) if gpus else "", gpu_model=", ".join(sorted({d.name for d in gpus})),
        tracking_mode="machine" if any(base_label(d.provenance) == "rapl" for d in cpus) else "process",
        gpu_utilization_percent=_gpu_util(data), on_cloud="Y" if cloud else "N", pue=repr(pue), wue="0",
    )
    for k, kwh in kinds.items():
        out[f"{k}_energy"] = repr(kwh * pue)
        out[f"{k}_power"] = repr(kwh * pue * J_PER_KWH / dur if dur > 0 else 0.0)
    return out


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """``emissions.csv`` text: CodeCarbon's header, then the rows."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()
