"""``doctor``'s vendor sections: every AMD GPU amdsmi sees, Apple silicon's counters; how each is measured, why not."""
from __future__ import annotations

from typing import Any, Mapping

from greenops_tb.meters import amd, apple
from greenops_tb.meters.amd_devices import rocm_torch, visible_amd_gpus

VARIABLES = ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES")


def _counter_text(s: amd.AmdSupport) -> str:
    if s.counter_error:
        return s.counter_error
    if s.counter_ratio is None:
        return "supported (not validated: no power reading)"
    return f"supported (validated against power x time: ratio {s.counter_ratio:.3g})"


def amd_section(env: Mapping[str, str], validate_s: float = amd.DEFAULT_VALIDATE_S) -> dict[str, Any]:
    out: dict[str, Any] = {"env": {v: env.get(v) for v in VARIABLES}, "rocm_torch": rocm_torch(), "gpus": [],
                           "visible": [], "notes": []}
    lib = amd._load_amdsmi()
    if lib is None:
        out["status"] = ("amdsmi is not installed or ROCm's libamd_smi.so is missing "
                         "(pip install greenops_tb[amd] on a ROCm machine): AMD GPUs are not measured")
        return out
    try:
        lib.amdsmi_init(lib.AmdSmiInitFlags.INIT_AMD_GPUS)
    except Exception as err:  # noqa: BLE001
        out["status"] = f"AMD SMI unavailable ({type(err).__name__}: {err}): no amdgpu driver or GPU"
        return out
    try:
        out["status"] = "ok"
        every = visible_amd_gpus(lib, {}, hip=False)  # all of them, HIP order
        sockets = list({g.socket: g for g in reversed(every)}.values())[::-1]
        support = dict(zip((g.socket for g in sockets), amd.probe(lib, sockets, validate_s)))
        for g in every:
            s = support[g.socket]
            how, tdp = amd.measurement(g.name, s)
            first = sockets[[x.socket for x in sockets].index(g.socket)] is g
            out["gpus"].append({
                "hip_index": g.cuda_index, "amdsmi_index": g.smi_index, "name": g.name, "uuid": g.uuid,
                "rocr_uuid": f"GPU-{g.serial}" if g.serial else None, "socket": g.socket,
                "partitions": g.partitions,
                "energy_counter": _counter_text(s),
                "power": s.power_error or "supported", "activity": s.utilization_error or "supported",
                "power_cap_w": s.power_cap_w,
                "measured_as": how if first else f"with its socket (partition of {g.partitions}, measured once)",
                "model_tdp_w": tdp.watts if tdp else None,
            })
        try:
            for g in visible_amd_gpus(lib, env):
                out["visible"].append({"cuda": f"cuda:{g.cuda_index}", "amdsmi_index": g.smi_index,
                                       "uuid": g.uuid, "socket": g.socket})
        except ValueError as err:
            out["notes"].append(str(err))
        if any(g.partitions > 1 for g in every):
            out["notes"].append("compute partitions share their socket's power and energy: the socket is measured "
                                "once, by the lowest visible partition, and records say 'whole socket'")
    finally:
        lib.amdsmi_shut_down()
    return out


def print_amd(a: dict[str, Any]) -> None:
    print("GPU (AMD SMI)")
    print(f"  status: {a['status']}")
    for g in a["gpus"]:
        print(f"  hip {g['hip_index']} (amd-smi {g['amdsmi_index']}): {g['name']} {g['rocr_uuid'] or g['uuid']} -> "
              f"{g['measured_as']} (energy counter: {g['energy_counter']}; power: {g['power']}; "
              f"activity: {g['activity']}; power cap: {g['power_cap_w']} W)")
    env = "  ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in a["env"].items())
    print(f"  {env}  torch ROCm build: {a['rocm_torch']}")
    for v in a["visible"]:
        print(f"  {v['cuda']} -> amd-smi {v['amdsmi_index']} {v['uuid']}")


def apple_section() -> dict[str, Any]:
    lib = apple._load_binding()
    if lib is None:
        return {"status": "zeus-apple-silicon is not installed (pip install greenops_tb[apple] on an Apple silicon "
                          "Mac): no IOReport counters", "devices": []}
    sources = apple.apple_sources()
    if not sources:
        return {"status": "the Apple energy monitor cannot start here (not Apple silicon, or IOReport refused)",
                "devices": []}
    try:
        devices = [{"device": d.id, "kind": d.kind, "name": d.name, "fields": list(apple.PARTS[d.id][2])}
                   for d in sources[0].devices]
    finally:
        sources[0].close()
    return {"status": "ok: CPU, GPU, Neural Engine and unified memory from IOReport, read at every boundary "
                      f"({apple.LABEL}); nothing else is measured or modelled on top", "devices": devices}


def print_apple(a: dict[str, Any]) -> None:
    print("Apple silicon (zeus-apple-silicon)")
    print(f"  status: {a['status']}")
    for d in a["devices"]:
        print(f"  {d['device']} ({d['name']}): {' + '.join(d['fields'])}")
