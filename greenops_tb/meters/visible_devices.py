"""Which GPUs this process uses, mapped to NVML handles.

``CUDA_VISIBLE_DEVICES`` follows CUDA's rules: a comma-separated list of
entries, each a device index (``0``), a GPU UUID or unique UUID prefix
(``GPU-8f2e...``) or a MIG instance (``MIG-<uuid>`` or the older
``MIG-GPU-<gpu-uuid>/<gi>/<ci>``). CUDA stops at the first invalid entry
(devices before it stay visible); unset means every GPU; empty means none.

Integer entries are NVML indices, which is what CUDA uses with
``CUDA_DEVICE_ORDER=PCI_BUS_ID``; with CUDA's default "fastest first" order
the two can differ on a machine mixing GPU models (``doctor`` warns).

A MIG instance has no energy counter of its own: its parent GPU is measured
(the whole GPU, shared with other instances; the device name says so).

``gpus=`` (the writer option) then picks among the visible GPUs: ``None`` or
``"all"`` for all, ``[]`` or ``"none"`` for none, indices as the process sees
them (``cuda:N``), or UUIDs (prefixes allowed), as a list or a
comma-separated string.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

from greenops_tb.errors import UsageError

log = logging.getLogger(__name__)

GpusOption = Union[None, str, int, Sequence[Union[int, str]]]


@dataclass(frozen=True, slots=True)
class Selector:
    """One parsed ``CUDA_VISIBLE_DEVICES`` entry."""

    form: str  # "index" | "gpu-uuid" | "mig-uuid"
    value: str  # the index as text, or the UUID (prefix) including its GPU-/MIG- prefix


@dataclass(frozen=True, slots=True)
class VisibleGpu:
    """A GPU this process uses: its CUDA index, NVML identity and the handle to measure."""

    cuda_index: int  # as the process sees it: torch's cuda:N
    nvml_index: int  # physical NVML index of the measured (parent) GPU
    uuid: str  # GPU UUID of the measured GPU
    name: str
    handle: Any  # NVML handle of the measured GPU (the parent for MIG)
    mig_uuid: str | None = None  # set when the process sees a MIG instance


_INDEX_RE = re.compile(r"^\d+$")


def parse_cuda_visible_devices(value: str | None) -> list[Selector] | None:
    """Parse ``CUDA_VISIBLE_DEVICES``; ``None`` means unset (every GPU visible)."""
    if value is None:
        return None
    out: list[Selector] = []
    seen: set[str] = set()
    for raw in value.split(","):
        entry = raw.strip()
        if _INDEX_RE.match(entry):
            sel = Selector("index", str(int(entry)))
        elif entry.upper().startswith("MIG-") and len(entry) > 4:
            sel = Selector("mig-uuid", "MIG-" + entry[4:])
        elif entry.upper().startswith("GPU-") and len(entry) > 4:
            sel = Selector("gpu-uuid", "GPU-" + entry[4:])
        else:
            if entry:
                log.debug("CUDA_VISIBLE_DEVICES entry %r is invalid; CUDA ignores it and all after it", entry)
            break
        if sel.value in seen:
            log.debug("CUDA_VISIBLE_DEVICES lists %s twice; CUDA ignores it and all after it", sel.value)
            break
        seen.add(sel.value)
        out.append(sel)
    return out


def parse_gpus(gpus: GpusOption) -> list[int | str] | None:
    """Normalise the ``gpus=`` option; ``None`` means every visible GPU."""
    if gpus is None:
        return None
    if isinstance(gpus, bool) or not isinstance(gpus, (int, str, list, tuple)):
        raise UsageError(f"gpus= must be None, 'all', 'none', an index, a UUID or a list of them, not {gpus!r}")
    if isinstance(gpus, int):
        items: Sequence[int | str] = [gpus]
    elif isinstance(gpus, str):
        text = gpus.strip()
        if text.lower() == "all":
            return None
        if text.lower() in ("", "none"):
            return []
        items = [t.strip() for t in text.split(",")]
    else:
        items = list(gpus)
    out: list[int | str] = []
    for item in items:
        if isinstance(item, str) and _INDEX_RE.match(item):
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, (int, str)) or (isinstance(item, int) and item < 0):
            raise UsageError(
                f"gpus= entry {item!r} is not a GPU: use an index as the process sees it (0 for cuda:0) "
                "or a UUID such as 'GPU-8f2e...' or 'MIG-...'"
            )
        if isinstance(item, str) and not item.upper().startswith(("GPU-", "MIG-")):
            raise UsageError(f"gpus= entry {item!r} is neither an index nor a 'GPU-'/'MIG-' UUID")
        out.append(item)
    return out


def _uuid(nvml: Any, handle: Any) -> str:
    u = nvml.nvmlDeviceGetUUID(handle)
    return u.decode() if isinstance(u, bytes) else str(u)


def _name(nvml: Any, handle: Any) -> str:
    n = nvml.nvmlDeviceGetName(handle)
    return n.decode() if isinstance(n, bytes) else str(n)


def _mig_instances(nvml: Any, parent: Any) -> list[tuple[str, Any]]:
    """(MIG UUID, handle) of every MIG instance of ``parent``; empty when MIG is off or unsupported."""
    try:
        count = nvml.nvmlDeviceGetMaxMigDeviceCount(parent)
    except Exception:  # noqa: BLE001 - pre-Ampere GPUs and old drivers
        return []
    out = []
    for i in range(count):
        try:
            h = nvml.nvmlDeviceGetMigDeviceHandleByIndex(parent, i)
        except Exception:  # noqa: BLE001 - empty slot
            continue
        out.append((_uuid(nvml, h), h))
    return out


def _match(prefix: str, uuids: Sequence[str]) -> int | None:
    """Index of the one UUID that ``prefix`` names (CUDA accepts unique prefixes)."""
    hits = [i for i, u in enumerate(uuids) if u.lower().startswith(prefix.lower())]
    if len(hits) > 1:
        log.debug("UUID prefix %s is ambiguous: %s", prefix, [uuids[i] for i in hits])
        return None
    return hits[0] if hits else None


def visible_gpus(nvml: Any, env: Mapping[str, str], gpus: GpusOption = None) -> list[VisibleGpu]:
    """The GPUs this process uses (after ``CUDA_VISIBLE_DEVICES`` and ``gpus=``), in CUDA order.

    ``nvml`` is an initialised pynvml module (or a stand-in with its API).
    Raises ValueError when ``gpus=`` names a GPU the process cannot see.
    """
    count = nvml.nvmlDeviceGetCount()
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    uuids = [_uuid(nvml, h) for h in handles]
    selectors = parse_cuda_visible_devices(env.get("CUDA_VISIBLE_DEVICES"))
    if selectors is None:
        selectors = [Selector("index", str(i)) for i in range(count)]
    visible: list[VisibleGpu] = []
    for sel in selectors:
        gpu = _resolve(nvml, sel, handles, uuids, len(visible))
        if gpu is None:
            log.debug("CUDA_VISIBLE_DEVICES entry %s matches no GPU; CUDA ignores it and all after it", sel.value)
            break
        visible.append(gpu)
    return _pick(visible, parse_gpus(gpus))


def _resolve(nvml: Any, sel: Selector, handles: list, uuids: list[str], cuda_index: int) -> VisibleGpu | None:
    if sel.form == "index":
        i = int(sel.value)
        if i >= len(handles):
            return None
        return VisibleGpu(cuda_index, i, uuids[i], _name(nvml, handles[i]), handles[i])
    if sel.form == "gpu-uuid":
        found = _match(sel.value, uuids)
        if found is None:
            return None
        return VisibleGpu(cuda_index, found, uuids[found], _name(nvml, handles[found]), handles[found])
    # MIG: the old form names the parent GPU, the new form the instance
    old = re.match(r"^MIG-(GPU-[0-9a-fA-F-]+)/\d+/\d+$", sel.value)
    for i, h in enumerate(handles):
        if old is not None:
            if uuids[i].lower() == old.group(1).lower():
                return _mig_gpu(nvml, cuda_index, i, uuids[i], h, sel.value)
            continue
        migs = _mig_instances(nvml, h)
        j = _match(sel.value, [u for u, _ in migs])
        if j is not None:
            return _mig_gpu(nvml, cuda_index, i, uuids[i], h, migs[j][0])
    return None


def _mig_gpu(nvml: Any, cuda_index: int, i: int, uuid: str, handle: Any, mig_uuid: str) -> VisibleGpu:
    name = f"{_name(nvml, handle)} (MIG {mig_uuid}: whole GPU measured)"
    return VisibleGpu(cuda_index, i, uuid, name, handle, mig_uuid=mig_uuid)


def _pick(visible: list[VisibleGpu], wanted: list[int | str] | None) -> list[VisibleGpu]:
    if wanted is None:
        return visible
    out: list[VisibleGpu] = []
    for w in wanted:
        if isinstance(w, int):
            if w >= len(visible):
                raise UsageError(
                    f"gpus= asks for cuda:{w} but this process sees {len(visible)} GPU(s) "
                    f"(CUDA_VISIBLE_DEVICES and NVML); use an index below {len(visible)} or a visible UUID"
                )
            gpu = visible[w]
        else:
            keys = [g.mig_uuid or g.uuid for g in visible]
            j = _match(w, keys)
            if j is None:
                raise UsageError(f"gpus= names {w!r}, which is not a unique visible GPU; visible: {keys}")
            gpu = visible[j]
        if gpu not in out:
            out.append(gpu)
    return out
