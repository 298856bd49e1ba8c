"""Other processes on this process's GPUs: one warning, or ``gpu_attribution="process"``.

A GPU's energy counter covers every process on it. At start, each GPU's
compute processes are listed (NVML ``nvmlDeviceGetComputeRunningProcesses``,
amdsmi ``amdsmi_get_gpu_process_list``); when others share a GPU:

* ``gpu_attribution="device"`` (default): the whole device's energy, and ONE
  warning naming the GPUs and the other processes;
* ``gpu_attribution="process"``: the GPU's energy x this process's share of
  its use per step (:class:`~greenops_tb.meters.share.ScaledSource`),
  labelled ``<label> x process-util``. NVML: the sum of this process's
  ``smUtil`` samples (``nvmlDeviceGetProcessUtilization``) over every
  process's; amdsmi: this process's GFX engine nanoseconds
  (``engine_usage.gfx``) over every process's. A step with no samples keeps
  the previous share (at start: 1 / number of compute processes).
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Sequence

from greenops_tb.errors import UsageError
from greenops_tb.meters.amd import AmdSource
from greenops_tb.meters.base import EnergySource
from greenops_tb.meters.nvml import _NvmlGpu
from greenops_tb.meters.share import ScaledSource, Share

GPU_ATTRIBUTIONS = ("device", "process")
LABEL = "process-util"


def _nvml_usage(nvml: Any, handle: Any, pid: int) -> Callable[[], tuple[float, float]]:
    totals: dict[int, float] = {}
    last = [0]

    def read() -> tuple[float, float]:
        try:
            samples = nvml.nvmlDeviceGetProcessUtilization(handle, last[0])
        except nvml.NVMLError as err:
            if getattr(err, "value", None) != getattr(nvml, "NVML_ERROR_NOT_FOUND", 6):
                raise
            samples = []  # no sample since the last one
        for s in samples:
            totals[s.pid] = totals.get(s.pid, 0.0) + float(s.smUtil)
            last[0] = max(last[0], int(s.timeStamp))
        return totals.get(pid, 0.0), sum(totals.values())

    return read


def _amd_usage(lib: Any, handle: Any, pid: int) -> Callable[[], tuple[float, float]]:
    def read() -> tuple[float, float]:
        procs = lib.amdsmi_get_gpu_process_list(handle)
        gfx = {p["pid"]: float(p["engine_usage"]["gfx"]) for p in procs}
        return gfx.get(pid, 0.0), sum(gfx.values())

    return read


def compute_pids(source: EnergySource) -> list[int] | None:
    """Pids of the compute processes on ``source``'s GPU, None when the library cannot say."""
    try:
        if isinstance(source, _NvmlGpu):
            return [int(p.pid) for p in source.nvml.nvmlDeviceGetComputeRunningProcesses(source.gpu.handle)]
        if isinstance(source, AmdSource):
            return [int(p["pid"]) for p in source.lib.amdsmi_get_gpu_process_list(source.gpu.handle)]
    except Exception:  # noqa: BLE001 - unsupported, or no permission
        return None
    return None


def _share(source: EnergySource, pids: Sequence[int]) -> Share | None:
    me = os.getpid()
    initial = 1.0 / max(1, len(set(pids) | {me}))
    if isinstance(source, _NvmlGpu):
        return Share(_nvml_usage(source.nvml, source.gpu.handle, me), initial)
    if isinstance(source, AmdSource):
        return Share(_amd_usage(source.lib, source.gpu.handle, me), initial)
    return None


def attribute_gpus(sources: Sequence[EnergySource], mode: str = "device") -> list[EnergySource]:
    """Warn once about GPUs shared with other processes, or scale them by this process's share ("process")."""
    if mode not in GPU_ATTRIBUTIONS:
        raise UsageError(f"gpu_attribution must be one of {GPU_ATTRIBUTIONS}, got {mode!r}")
    me = os.getpid()
    out: list[EnergySource] = []
    shared: list[str] = []
    for s in sources:
        pids = compute_pids(s)
        others = sorted(set(pids or ()) - {me})
        if others:
            shared.append(f"{s.devices[0].id} (pids {', '.join(map(str, others[:5]))}"
                          f"{', ...' if len(others) > 5 else ''})")
        share = _share(s, pids or ()) if mode == "process" and pids is not None else None
        out.append(ScaledSource(s, share, LABEL, scope="device", interval=s.sample_interval or 0.5)
                   if share is not None else s)
    if shared and mode == "device":
        warnings.warn(
            f"greenops_tb: other processes compute on {'; '.join(shared)}: the GPU energy recorded is the whole "
            "device's, theirs included. Pass gpu_attribution='process' to split it by per-process utilisation",
            RuntimeWarning, stacklevel=3)
    return out
