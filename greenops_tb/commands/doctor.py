"""``greenops-tb doctor [--json]``: what this machine can measure, and why not.

Reports NVML and the driver, every NVIDIA GPU with its energy-counter and power
support, the CUDA_VISIBLE_DEVICES mapping, every AMD GPU through AMD SMI (counter
validation, partitions, ROCR/HIP_VISIBLE_DEVICES), the hwmon sensors, the RAPL zones and their
permissions, the CPU model and the TDP it resolves to, the location a writer
would use and why, and the energy source each device would get.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from typing import Any, Mapping

from greenops_tb.commands.doctor_vendors import amd_section, apple_section, print_amd, print_apple
from greenops_tb.meters import hwmon
from greenops_tb.meters import nvml as nvml_mod
from greenops_tb.meters.cpu_info import logical_cpus, resolve_cpu_tdp
from greenops_tb.meters.cpu_share import cpu_share
from greenops_tb.meters.gpu_common import call as _call
from greenops_tb.meters.rapl import FIX_HINT, discover, powercap_root
from greenops_tb.meters.visible_devices import visible_gpus


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="show what this machine can measure and why not", description=__doc__)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--powercap-root", "--sysfs-root", metavar="DIR", dest="powercap_root",
                   help="powercap directory (default /sys/class/powercap; a sysfs root such as /sys is understood)")
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
            procs, perr = _call(nvml.nvmlDeviceGetComputeRunningProcesses, h)
            out["gpus"].append({
                "compute_pids": [int(p.pid) for p in procs] if procs is not None else perr,
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
                            "(containers: mount the host's /sys/class/powercap and pass powercap_root=)")
    elif any(z.readable is not None and z.kind for z in zones):
        out["notes"].append("energy_uj is not readable (root-only since 2020, CVE-2020-8694): "
                            + FIX_HINT.format(root=base))
    return out


def _hwmon_section(root: str | None, measured: list[str]) -> dict[str, Any]:
    base = hwmon.hwmon_root(root)
    sensors, covered = hwmon.plan(hwmon.discover(base), measured)
    out: dict[str, Any] = {"root": base, "sensors": [], "covers": covered, "notes": []}
    for s in sensors:
        out["sensors"].append({"chip": s.chip, "label": s.label, "file": os.path.basename(s.path), "family": s.family,
                               "role": s.role or "-", "counted": s.counted, "why": s.why})
    if not sensors:
        out["notes"].append(f"no hwmon power or energy sensors under {base}")
    return out


def _cpu_section(window_s: float = 0.3) -> dict[str, Any]:
    tdp = resolve_cpu_tdp()
    out = {"model": tdp.model, "tdp_w": tdp.tdp_w, "tdp_source": tdp.source, "logical_cpus": logical_cpus(),
           "others_busy_pct": None, "notes": []}
    try:
        share = cpu_share()
        time.sleep(window_s)
        share.step()
        others = max(0.0, share.all - share.mine)
    except OSError:  # no /proc/stat (not Linux)
        return out
    pct = 100.0 * others / (window_s * logical_cpus())
    out["others_busy_pct"] = round(min(100.0, pct), 1)  # /proc/stat ticks (10 ms) can overshoot a short window
    return out


def _busy_note(cpu: dict[str, Any], sources: dict[str, Any]) -> None:
    """Say when other processes' load makes a whole-socket CPU figure (RAPL, hwmon) misleading."""
    whole = [d for d in sources["devices"] if d["kind"] == "cpu" and not d["provenance"].startswith("model")]
    pct = cpu["others_busy_pct"]
    if whole and pct is not None and pct >= 25.0:
        cpu["notes"].append(f"other processes keep {pct:.0f}% of the CPUs busy: {whole[0]['provenance']} measures "
                            "the whole socket, their energy included; pass cpu_attribution='process' to count a "
                            "run's share only")


def _job_section(env: Mapping[str, str]) -> dict[str, Any]:
    from greenops_tb.distributed.identity import host_identity, job_identity
    from greenops_tb.distributed.ranks import detect

    try:
        info = detect(env)
        rank = {"rank": info.rank, "world_size": info.world_size, "local_rank": info.local_rank, "source": info.source}
    except ValueError as err:
        rank = {"error": str(err)}
    return {"job": job_identity(env), "host_id": host_identity(env), "rank": rank,
            "notes": ["host-level sources (RAPL, hwmon) are measured once per host id: ranks with the same id "
                      "share them, whatever their host names (set GREENOPS_HOST_ID to override)"]}


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
        sources = default_sources(powercap_root=root)
    try:
        devices = [{"device": d.id, "kind": d.kind, "name": d.name, "provenance": p}
                   for s in sources for d, p in zip(s.devices, s.provenance())]
    finally:
        for s in sources:
            s.close()
    return {"devices": devices, "notes": [str(w.message) for w in caught]}


def _measured_elsewhere(root: str | None) -> list[str]:
    """Kinds RAPL and the GPU libraries measure (hwmon does not count them again)."""
    from greenops_tb.meters.select import gpu_sources, rapl_kinds

    kinds = rapl_kinds(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        accel = gpu_sources()
    for s in accel:
        s.close()
    return sorted(kinds | ({"gpu"} if accel else set()))


def diagnose(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole report as plain data (what ``--json`` prints)."""
    env = os.environ if env is None else env
    rep = {
        "gpu": _gpu_section(env),
        "amd": amd_section(env),
        "apple": apple_section(),
        "rapl": _rapl_section(args.powercap_root),
        "hwmon": _hwmon_section(args.powercap_root, _measured_elsewhere(args.powercap_root)),
        "cpu": _cpu_section(),
        "job": _job_section(env),
        "location": _location_section(args),
        "sources": _sources_section(args.powercap_root),
    }
    _busy_note(rep["cpu"], rep["sources"])
    return rep


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
    print_amd(rep["amd"])
    print_apple(rep["apple"])
    r = rep["rapl"]
    print(f"CPU/RAM (RAPL under {r['root']})")
    for z in r["zones"]:
        print(f"  {z['zone']} {z['name']}: {z['counts_as']} ({z['why']}); energy_uj {z['energy_uj']}")
    for note in r["notes"]:  # why RAPL is not used, under its own heading
        print(f"  status: {note}")
    h = rep["hwmon"]
    print(f"hwmon sensors (under {h['root']})")
    for s in h["sensors"]:
        print(f"  {s['chip']} {s['label'] or '(no label)'} [{s['file']}]: {s['role']}; "
              f"{'counted' if s['counted'] else 'not counted'} ({s['why']})")
    c = rep["cpu"]
    print("CPU model")
    busy = f"; other processes busy: {c['others_busy_pct']:g}% of the CPUs" if c["others_busy_pct"] is not None else ""
    print(f"  {c['model'] or '(unknown)'}: TDP {c['tdp_w']:g} W from {c['tdp_source']}; {c['logical_cpus']} logical CPUs"
          + busy)
    j = rep["job"]
    print("Job and host")
    print(f"  job: {j['job'].get('key', '(no scheduler or launcher)')}; host id: {j['host_id']}; "
          + ", ".join(f"{k}={v}" for k, v in j["rank"].items()))
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
    for note in g["notes"] + rep["amd"]["notes"] + c["notes"] + h["notes"] + loc.get("notes", []) + rep["sources"]["notes"]:
        print(f"note: {note}")


def run(args: argparse.Namespace) -> int:
    rep = diagnose(args)
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        _print_text(rep)
    return 0
