"""Which AMD GPUs this process uses, mapped to amdsmi processor handles.

Index spaces (as zeus documents them): amdsmi lists processor handles in
PCI order; HIP (what torch sees as ``cuda:N``) enumerates in its own order,
read from ``amdsmi_get_gpu_enumeration_info(h)["hip_id"]`` or, on ROCm 6.3
without it, the KFD ``node_id`` order.

Visibility, applied in the order the ROCm stack applies it:

1. ``ROCR_VISIBLE_DEVICES`` (ROCr runtime): indices into all GPUs in HIP
   order, or UUIDs ``GPU-<16 hex digits>`` (the ASIC serial, as ``rocminfo``
   prints it; amdsmi's own UUID form is accepted too, prefixes allowed);
2. ``HIP_VISIBLE_DEVICES``: indices (or UUIDs) into what ROCr left visible;
3. ``CUDA_VISIBLE_DEVICES`` instead of 2. when ``HIP_VISIBLE_DEVICES`` is
   unset and torch is a ROCm build (``torch.version.hip``), as HIP honours it.

Each list follows CUDA's rules (:func:`~greenops_tb.meters.visible_devices.parse_cuda_visible_devices`):
an invalid entry ends it, empty means none, unset means all.

Compute partitions (MI300X CPX/DPX, MI250's two dies): several processor
handles share one socket; only the socket's first partition reports power and
energy. Partitions are grouped by ASIC serial (else PCI bus/device), every
visible partition maps to its socket's reporting handle, and a socket is
measured once however many of its partitions the process (or, in a job, the
host) uses; the device name says "whole socket".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from greenops_tb.errors import UsageError
from greenops_tb.meters.gpu_common import call
from greenops_tb.meters.visible_devices import GpusOption, Selector, parse_cuda_visible_devices, parse_gpus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AmdGpu:
    """A GPU (or partition) this process uses and the handle that measures its socket."""

    cuda_index: int  # as the process sees it: torch's cuda:N under ROCm
    smi_index: int  # position in amdsmi_get_processor_handles()
    uuid: str  # amdsmi UUID of this GPU/partition
    serial: str  # ASIC serial (hex, no 0x), the ROCr UUID's digits; "" when unknown
    name: str
    handle: Any  # this GPU's/partition's handle (activity, processes)
    socket: str  # identity of the physical socket (serial or PCI bus/device)
    socket_handle: Any  # the handle that reports the socket's power and energy
    partitions: int = 1  # partitions of this socket on the machine


def rocm_torch() -> bool:
    """Whether torch is a ROCm build (then CUDA_VISIBLE_DEVICES names AMD GPUs)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(getattr(torch.version, "hip", None))


def _text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _hip_order(lib: Any, handles: Sequence[Any]) -> list[int]:
    """amdsmi indices in HIP order."""
    enum = getattr(lib, "amdsmi_get_gpu_enumeration_info", None)
    keys: list[Any] = []
    for i, h in enumerate(handles):
        info, _ = call(enum, h) if enum is not None else (None, "absent")
        if info is not None and isinstance(info.get("hip_id"), int):
            keys.append((0, info["hip_id"], i))
            continue
        kfd, _ = call(lib.amdsmi_get_gpu_kfd_info, h)
        node = kfd.get("node_id") if kfd else None
        keys.append((1, node if isinstance(node, int) else i, i))
    return [i for *_, i in sorted(keys)]


def _norm(uuid: str) -> str:
    u = uuid.lower()
    return (u[4:] if u.startswith("gpu-") else u).replace("-", "")


def _select(entries: list[Selector] | None, pool: list[int], ids: list[tuple[str, str]], what: str) -> list[int]:
    """The members of ``pool`` (amdsmi indices) that ``entries`` name, in their order."""
    if entries is None:
        return list(pool)
    out: list[int] = []
    for sel in entries:
        if sel.form == "index":
            pos = int(sel.value)
            hit = pool[pos] if pos < len(pool) else None
        else:
            want = _norm(sel.value)
            hits = [i for i in pool if any(k and k.startswith(want) for k in (_norm(ids[i][0]), ids[i][1]))]
            hit = hits[0] if len(hits) == 1 else None
        if hit is None or hit in out:
            log.debug("%s entry %s matches no (new) GPU; it and all after it are ignored", what, sel.value)
            break
        out.append(hit)
    return out


def visible_amd_gpus(lib: Any, env: Mapping[str, str], gpus: GpusOption = None, *, hip: bool | None = None) -> list[AmdGpu]:
    """The AMD GPUs this process uses (after the visibility variables and ``gpus=``), in HIP order.

    ``lib``: an initialised amdsmi module (or a stand-in with its API); ``hip``: whether
    torch is a ROCm build (default: ``torch.version.hip``). ValueError when ``gpus=``
    names a GPU the process cannot see.
    """
    handles = list(lib.amdsmi_get_processor_handles())
    ids: list[tuple[str, str]] = []
    sockets: list[str] = []
    for h in handles:
        uuid, _ = call(lib.amdsmi_get_gpu_device_uuid, h)
        asic, _ = call(lib.amdsmi_get_gpu_asic_info, h)
        serial = str((asic or {}).get("asic_serial", "")).lower()
        serial = serial[2:] if serial.startswith("0x") else ("" if serial == "n/a" else serial)
        bdf, _ = call(lib.amdsmi_get_gpu_device_bdf, h)
        ids.append((_text(uuid or ""), serial))
        sockets.append(serial or _text(bdf or "").rsplit(".", 1)[0] or f"amdsmi:{len(sockets)}")
    reporting: dict[str, int] = {}
    for i, h in enumerate(handles):
        kfd, _ = call(lib.amdsmi_get_gpu_kfd_info, h)
        part = (kfd or {}).get("current_partition_id")
        if sockets[i] not in reporting or part == 0:
            reporting[sockets[i]] = i
    pool = _hip_order(lib, handles)
    pool = _select(parse_cuda_visible_devices(env.get("ROCR_VISIBLE_DEVICES")), pool, ids, "ROCR_VISIBLE_DEVICES")
    hip = rocm_torch() if hip is None else hip
    var = "HIP_VISIBLE_DEVICES" if "HIP_VISIBLE_DEVICES" in env or not hip else "CUDA_VISIBLE_DEVICES"
    pool = _select(parse_cuda_visible_devices(env.get(var)), pool, ids, var)
    visible = []
    for cuda, i in enumerate(pool):
        asic, _ = call(lib.amdsmi_get_gpu_asic_info, handles[i])
        name = _text((asic or {}).get("market_name") or "AMD GPU")
        count = sockets.count(sockets[i])
        if count > 1:
            name += f" (partition of {count}: whole socket measured)"
        visible.append(AmdGpu(cuda, i, ids[i][0], ids[i][1], name, handles[i], sockets[i],
                              handles[reporting[sockets[i]]], count))
    return _pick(visible, parse_gpus(gpus))


def _pick(visible: list[AmdGpu], wanted: list[int | str] | None) -> list[AmdGpu]:
    if wanted is None:
        return visible
    out: list[AmdGpu] = []
    for w in wanted:
        if isinstance(w, int):
            if w >= len(visible):
                raise UsageError(f"gpus= asks for cuda:{w} but this process sees {len(visible)} AMD GPU(s) "
                                 f"(ROCR/HIP_VISIBLE_DEVICES); use an index below {len(visible)} or a visible UUID")
            gpu = visible[w]
        else:
            want = _norm(w)
            hits = [g for g in visible if _norm(g.uuid).startswith(want) or g.serial.startswith(want)]
            if len(hits) != 1:
                raise UsageError(f"gpus= names {w!r}, which is not a unique visible AMD GPU; visible: "
                                 f"{['GPU-' + g.serial for g in visible]}")
            gpu = hits[0]
        if gpu not in out:
            out.append(gpu)
    return out
