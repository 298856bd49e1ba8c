"""A stand-in for the ``amdsmi`` module (AMD SMI's Python API) over simulated AMD GPUs.

Put it where the real import happens (``sys.modules["amdsmi"]``). Calls,
dictionaries and units follow AMD SMI's Python reference
(docs/how-to/using-amdsmi-for-python.md, py-interface/amdsmi_interface.py):

* ``amdsmi_get_energy_count``: ``energy_accumulator`` x ``counter_resolution``
  = microjoules; the accumulator wraps at ``2**counter_bits`` (32 on older
  firmware) and may be off by ``counter_factor`` (ROCm/amdsmi#38: nonsense counters);
* ``amdsmi_get_power_info``: ``current_socket_power`` / ``average_socket_power``
  in W (int) or ``"N/A"``; ``amdsmi_get_power_cap_info``: ``power_cap`` in uW;
* ``amdsmi_get_gpu_activity``: ``gfx_activity`` in %; ``amdsmi_get_gpu_vram_usage``: MB;
* ``amdsmi_get_gpu_process_list``: per process ``pid``, ``mem`` and ``engine_usage.gfx``
  (ns of GFX engine time, cumulative);
* compute partitions (MI300X CPX): extra processor handles sharing the first
  partition's socket (same ``asic_serial``), with no power or energy of their own.

Each GPU's power profile ``P(t)`` has its exact integral ``E(t)`` (``fake_nvml.Profile``).
"""
from __future__ import annotations

import math
import time
import types
from dataclasses import dataclass, field
from typing import Callable

from fakes.fake_nvml import Profile, constant

STATUS_NOT_SUPPORTED = 2
STATUS_NOT_INIT = 32


class AmdSmiException(Exception):
    pass


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, code: int) -> None:
        super().__init__(f"AMD SMI library error {code}")
        self.code = code

    def get_error_code(self) -> int:
        return self.code

    def get_error_info(self) -> str:
        return str(self)


@dataclass
class FakeProcess:
    pid: int
    gfx_share: float  # fraction of the GPU's GFX engine time this process uses
    vram_mb: int = 1024


@dataclass
class FakeAmdGpu:
    serial: int  # asic serial: the ROCr UUID is GPU-<serial as 16 hex digits>
    name: str = "AMD Instinct MI300X"
    profile: Profile = field(default_factory=lambda: constant(500.0))
    hip_id: int | None = None  # HIP enumeration position; None: same as the amd-smi index
    node_id: int | None = None  # KFD node id (HIP order on ROCm 6.3); None: hip_id + 2
    energy_counter: bool = True
    counter_bits: int = 64
    counter_resolution: float = 15.259  # uJ per accumulator step
    counter_start: int = 0
    counter_factor: float = 1.0  # a broken counter reports E x factor
    power: bool = True  # current_socket_power supported
    power_cap_w: float | None = 750.0
    activity: float | Callable[[float], float] | None = 91
    vram_total_mb: int = 196_592
    vram_used_mb: int | None = 20_480
    partition_id: int = 0  # > 0: a further compute partition of the GPU before it in the list (same serial)
    partition_mode: str = "SPX"
    bus: int = 0
    processes: list[FakeProcess] = field(default_factory=list)
    fail_after_s: float | None = None


@dataclass(frozen=True)
class _Handle:
    index: int


def make_fake_amdsmi(gpus: list[FakeAmdGpu], *, enumeration_info: bool = True,
                     init_error: int | None = None) -> types.ModuleType:
    """A module object with the parts of amdsmi's API that greenops_tb uses."""
    t0 = time.perf_counter()
    mod = types.ModuleType("amdsmi")
    mod.AmdSmiException = AmdSmiException
    mod.AmdSmiLibraryException = AmdSmiLibraryException
    mod.AmdSmiInitFlags = types.SimpleNamespace(INIT_AMD_GPUS=1 << 1, INIT_AMD_CPUS=1, INIT_AMD_APUS=3)
    mod.gpus = gpus
    mod.init_count = 0
    mod.calls: dict[str, int] = {}

    def now() -> float:
        return time.perf_counter() - t0

    def gpu_of(h: _Handle, what: str) -> FakeAmdGpu:
        if mod.init_count <= 0:
            raise AmdSmiLibraryException(STATUS_NOT_INIT)
        mod.calls[what] = mod.calls.get(what, 0) + 1
        g = gpus[h.index]
        if g.fail_after_s is not None and now() >= g.fail_after_s:
            raise AmdSmiLibraryException(STATUS_NOT_SUPPORTED)
        return g

    def util_of(g: FakeAmdGpu) -> float:
        return g.activity(now()) if callable(g.activity) else g.activity

    def amdsmi_init(flags: int = 2) -> None:
        if init_error is not None:
            raise AmdSmiLibraryException(init_error)
        mod.init_count += 1

    def amdsmi_shut_down() -> None:
        if mod.init_count <= 0:
            raise AmdSmiLibraryException(STATUS_NOT_INIT)
        mod.init_count -= 1

    def amdsmi_get_processor_handles() -> list[_Handle]:
        if mod.init_count <= 0:
            raise AmdSmiLibraryException(STATUS_NOT_INIT)
        return [_Handle(i) for i in range(len(gpus))]

    def amdsmi_get_gpu_device_uuid(h: _Handle) -> str:
        g = gpu_of(h, "uuid")
        s = f"{g.serial:016x}"
        return f"{s[:8]}-{g.partition_id:04x}-1000-80{s[8:10]}-{s[10:]}000000"

    def amdsmi_get_gpu_asic_info(h: _Handle) -> dict:
        g = gpu_of(h, "asic")
        return {"market_name": g.name, "vendor_id": "0x1002", "vendor_name": "Advanced Micro Devices Inc. [AMD/ATI]",
                "device_id": "0x74a1", "asic_serial": f"0x{g.serial:016X}", "oam_id": h.index,
                "num_compute_units": 304, "target_graphics_version": "gfx942"}

    def amdsmi_get_gpu_device_bdf(h: _Handle) -> str:
        g = gpu_of(h, "bdf")
        return f"0000:{g.bus:02x}:00.{g.partition_id}"

    def amdsmi_get_gpu_kfd_info(h: _Handle) -> dict:
        g = gpu_of(h, "kfd")
        hip = g.hip_id if g.hip_id is not None else h.index
        return {"kfd_id": 1000 + h.index, "node_id": g.node_id if g.node_id is not None else hip + 2,
                "current_partition_id": g.partition_id}

    def amdsmi_get_gpu_enumeration_info(h: _Handle) -> dict:
        g = gpu_of(h, "enumeration")
        hip = g.hip_id if g.hip_id is not None else h.index
        return {"drm_render": 128 + h.index, "drm_card": h.index, "hsa_id": hip + 2, "hip_id": hip,
                "hip_uuid": f"GPU-{g.serial:016x}"}

    def amdsmi_get_gpu_compute_partition(h: _Handle) -> str:
        return gpu_of(h, "partition").partition_mode

    def _socket(h: _Handle, g: FakeAmdGpu, what: str) -> None:
        if g.partition_id > 0:  # a secondary partition: the socket's sensors live on partition 0
            raise AmdSmiLibraryException(STATUS_NOT_SUPPORTED)

    def amdsmi_get_energy_count(h: _Handle) -> dict:
        g = gpu_of(h, "energy")
        _socket(h, g, "energy")
        if not g.energy_counter:
            raise AmdSmiLibraryException(STATUS_NOT_SUPPORTED)
        steps = g.counter_start + math.floor(g.profile.energy(now()) * g.counter_factor * 1e6 / g.counter_resolution)
        acc = steps % (2 ** g.counter_bits)
        return {"power": acc, "energy_accumulator": acc, "counter_resolution": g.counter_resolution,
                "timestamp": int(time.time() * 1e9)}

    def amdsmi_get_power_info(h: _Handle) -> dict:
        g = gpu_of(h, "power")
        watts: int | str = "N/A"
        if g.power and g.partition_id == 0:
            watts = int(round(g.profile.power(now())))
        return {"current_socket_power": watts, "average_socket_power": "N/A", "gfx_voltage": "N/A",
                "soc_voltage": "N/A", "mem_voltage": "N/A", "power_limit": "N/A"}

    def amdsmi_get_power_cap_info(h: _Handle) -> dict:
        g = gpu_of(h, "power_cap")
        if g.power_cap_w is None:
            raise AmdSmiLibraryException(STATUS_NOT_SUPPORTED)
        cap = int(g.power_cap_w * 1e6)
        return {"power_cap": cap, "default_power_cap": cap, "dpm_cap": 0, "min_power_cap": 0, "max_power_cap": cap}

    def amdsmi_get_gpu_activity(h: _Handle) -> dict:
        g = gpu_of(h, "activity")
        util = util_of(g)
        gfx = "N/A" if util is None else int(round(util))
        return {"gfx_activity": gfx, "umc_activity": "N/A", "mm_activity": "N/A"}

    def amdsmi_get_gpu_vram_usage(h: _Handle) -> dict:
        g = gpu_of(h, "vram")
        if g.vram_used_mb is None:
            raise AmdSmiLibraryException(STATUS_NOT_SUPPORTED)
        return {"vram_total": g.vram_total_mb, "vram_used": g.vram_used_mb}

    def amdsmi_get_gpu_process_list(h: _Handle) -> list[dict]:
        g = gpu_of(h, "processes")
        t = now()
        return [{"name": "N/A", "pid": p.pid, "mem": p.vram_mb * 2**20,
                 "engine_usage": {"gfx": int(p.gfx_share * t * 1e9), "enc": 0},
                 "memory_usage": {"gtt_mem": 0, "cpu_mem": 0, "vram_mem": p.vram_mb * 2**20}}
                for p in g.processes]

    for fn in list(locals().values()):
        if callable(fn) and getattr(fn, "__name__", "").startswith("amdsmi_"):
            setattr(mod, fn.__name__, fn)
    if not enumeration_info:  # ROCm 6.3: no enumeration info; HIP order from KFD node ids
        del mod.amdsmi_get_gpu_enumeration_info
    mod.elapsed = now
    return mod
