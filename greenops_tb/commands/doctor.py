"""``greenops-tb doctor [--json]``: what this machine can measure, and why not.

Reports NVML and the driver, every GPU with its energy-counter and power
support, the CUDA_VISIBLE_DEVICES mapping, the RAPL zones and their
permissions, the CPU model and the TDP it resolves to, the location a writer
would use and why, and the energy source each device would get.
"""
from __future__ import annotations

import argparse
import json
import os
import warnings
from typing import Any, Mapping

from greenops_tb.meters import nvml as nvml_mod
from greenops_tb.meters.cpu_info import logical_cpus, resolve_cpu_tdp
from greenops_tb.meters.rapl import FIX_HINT, discover, powercap_root
from greenops_tb.meters.visible_devices import visible_gpus


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="show what this machine can measure and why not", description=__doc__)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--sysfs-root", metavar="DIR", help="powercap directory (default /sys/class/powercap)")
    p.add_argument("--country", help="location as a writer would get it (else env, config, timezone)")
    p.add_argument("--region", help="sub-national region, e.g. US-CA")
    p.add_argument("--cloud", help="cloud region, e.g. aws:eu-west-1")
    p.set_defaults(func=run)


def _gpu_section(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cuda_visible_devices": env.get("CUDA_VISIBLE_DEVICES"),
        "cuda_device_order": env.get("CUDA_DEVICE_ORDER", "FASTEST_FIRST (CUDA default)"),
        "gpus": [],
        "visible": [],
        "notes": [],
    }
    nvml = nvml_mod._load_pynvml()
    if nvml is None:
        out["status"] = "nvidia-ml-py is not installed (pip install nvidia-ml-py): GPUs are not measured"
        return out
    try:
        nvml.nvmlInit()
    except Exception as err:  # noqa: BLE001
        out["status"] = f"NVML unavailable ({type(err).__name__}: {err}): no NVIDIA driver or GPU; GPUs are not measured"
        return out
    try:
        out["status"] = "ok"
        out["driver"] = _text(nvml.nvmlSystemGetDriverVersion())
        for i in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            sup = nvml_mod.probe_gpu(nvml, h)
            name = _text(nvml.nvmlDeviceGetName(h))
            measured_as, tdp = nvml_mod.measurement(name, sup)
            out["gpus"].append({
                "nvml_index": i,
                "name": name,
                "uuid": _text(nvml.nvmlDeviceGetUUID(h)),
                "energy_counter": sup.energy_counter_error or "supported",
                "power": sup.power_error or "supported",
                "utilization": sup.utilization_error or "supported",
                "power_limit_w": sup.power_limit_w,
                "measured_as": measured_as,
                "model_tdp_w": tdp.watts if tdp else None,
                "model_tdp_source": tdp.source if tdp else None,
            })
        try:
            for g in visible_gpus(nvml, env):
                out["visible"].append({"cuda": f"cuda:{g.cuda_index}", "nvml_index": g.nvml_index, "uuid": g.uuid,
                                       "mig_uuid": g.mig_uuid, "name": g.name})
        except ValueError as err:
            out["notes"].append(str(err))
        if not out["gpus"]:
            out["notes"].append("NVML works but reports no GPU")
        names = {g["name"] for g in out["gpus"]}
        if len(names) > 1 and env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
            out["notes"].append("GPUs of different models: set CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA indices match "
                                "NVML's (the mapping above assumes it)")
    finally:
        nvml.nvmlShutdown()
    return out


def _text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _rapl_section(root: str | None) -> dict[str, Any]:
    base = powercap_root(root)
    zones = discover(base)
    out: dict[str, Any] = {"root": base, "zones": [], "notes": []}
    for z in zones:
        out["zones"].append({"zone": os.path.basename(z.path), "name": z.name, "counts_as": z.kind or "-",
                             "why": z.why, "energy_uj": "readable" if z.readable is None else z.readable})
    if not zones:
        out["notes"].append(f"no RAPL zones under {base}: CPU and RAM energy come from the model "
                            "(containers: mount the host's /sys/class/powercap and pass sysfs_root=)")
    elif any(z.readable is not None and z.kind for z in zones):
        out["notes"].append("energy_uj is not readable (root-only since 2020, CVE-2020-8694): "
                            + FIX_HINT.format(root=base))
    return out


def _cpu_section() -> dict[str, Any]:
    tdp = resolve_cpu_tdp()
    return {"model": tdp.model, "tdp_w": tdp.tdp_w, "tdp_source": tdp.source, "logical_cpus": logical_cpus()}


def _location_section(args: argparse.Namespace) -> dict[str, Any]:
    from greenops_tb.grid import resolve_grid

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            grid = resolve_grid(args.country, args.region, args.cloud)
        except Exception as err:  # noqa: BLE001 - LocationError, bad config: report, don't crash
            return {"error": f"{type(err).__name__}: {err}"}
    try:
        p = grid.profile
        return {"zone": p.zone, "name": p.name, "chosen_by": p.location_source,
                "carbon_intensity_g_per_kwh": p.carbon_intensity_g_per_kwh, "intensity_source": p.intensity_source,
                "price_per_kwh": p.price_per_kwh, "currency": p.currency, "price_source": p.price_source,
                "notes": [str(w.message) for w in caught]}
    finally:
        grid.close()


def _sources_section(root: str | None) -> dict[str, Any]:
    from greenops_tb.meters.select import default_sources

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sources = default_sources(sysfs_root=root)
    try:
        devices = [{"device": d.id, "kind": d.kind, "name": d.name, "provenance": p}
                   for s in sources for d, p in zip(s.devices, s.provenance())]
    finally:
        for s in sources:
            s.close()
    return {"devices": devices, "notes": [str(w.message) for w in caught]}


def diagnose(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole report as plain data (what ``--json`` prints)."""
    env = os.environ if env is None else env
    return {
        "gpu": _gpu_section(env),
        "rapl": _rapl_section(args.sysfs_root),
        "cpu": _cpu_section(),
        "location": _location_section(args),
        "sources": _sources_section(args.sysfs_root),
    }


def _print_text(rep: dict[str, Any]) -> None:
    g = rep["gpu"]
    print("GPU (NVML)")
    print(f"  status: {g['status']}" + (f"; driver {g['driver']}" if g.get("driver") else ""))
    for gpu in g["gpus"]:
        model = (f"; model TDP {gpu['model_tdp_w']:g} W from {gpu['model_tdp_source']}"
                 if gpu["model_tdp_w"] is not None else "")
        print(f"  nvml {gpu['nvml_index']}: {gpu['name']} {gpu['uuid']} -> {gpu['measured_as']} "
              f"(energy counter: {gpu['energy_counter']}; power: {gpu['power']}; "
              f"utilisation: {gpu['utilization']}; limit: {gpu['power_limit_w']} W{model})")
    print(f"  CUDA_VISIBLE_DEVICES={g['cuda_visible_devices'] if g['cuda_visible_devices'] is not None else '(unset)'}"
          f"  CUDA_DEVICE_ORDER={g['cuda_device_order']}")
    for v in g["visible"]:
        print(f"  {v['cuda']} -> nvml {v['nvml_index']} {v['mig_uuid'] or v['uuid']}")
    r = rep["rapl"]
    print(f"CPU/RAM (RAPL under {r['root']})")
    for z in r["zones"]:
        print(f"  {z['zone']} {z['name']}: {z['counts_as']} ({z['why']}); energy_uj {z['energy_uj']}")
    for note in r["notes"]:  # why RAPL is not used, under its own heading
        print(f"  status: {note}")
    c = rep["cpu"]
    print("CPU model")
    print(f"  {c['model'] or '(unknown)'}: TDP {c['tdp_w']:g} W from {c['tdp_source']}; {c['logical_cpus']} logical CPUs")
    loc = rep["location"]
    print("Location")
    if "error" in loc:
        print(f"  {loc['error']}")
    else:
        price = f"{loc['price_per_kwh']:g} {loc['currency']}/kWh" if loc["price_per_kwh"] is not None else "unknown"
        print(f"  {loc['zone']} ({loc['name']}) chosen by {loc['chosen_by']}: "
              f"{loc['carbon_intensity_g_per_kwh']:g} gCO2/kWh ({loc['intensity_source']}); price {price}")
    print("A writer would measure")
    for d in rep["sources"]["devices"]:
        print(f"  {d['device']} ({d['name']}): {d['provenance']}")
    for note in g["notes"] + loc.get("notes", []) + rep["sources"]["notes"]:
        print(f"note: {note}")


def run(args: argparse.Namespace) -> int:
    rep = diagnose(args)
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        _print_text(rep)
    return 0
