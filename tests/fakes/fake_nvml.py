"""A stand-in for the ``pynvml`` module: NVML's API over simulated GPUs.

Put it where the real import happens (``sys.modules["pynvml"]``). Each
simulated GPU has a power profile ``P(t)`` with its exact integral ``E(t)``
(t = seconds since the module was made, on ``time.perf_counter``), an energy
counter refreshed every ``counter_period_s`` (or not supported), and may
start failing (every call raising NVMLError) after ``fail_after_s``.
Utilisation is a number or a function of t (NVML reports whole percent);
``None`` for the power limit, utilisation or used memory: NOT_SUPPORTED.

Counter faults, as drivers produce them: ``counter_offset_mj`` is added to the counter (which is
an unsigned 64-bit value, so it wraps at 2**64); ``reset_counter(i)`` makes GPU ``i``'s counter start
over from 0 now (a driver reload); ``counter_fault`` (value -> what the call returns, or raise) is
applied to every counter read until it is set back to None.
"""
from __future__ import annotations

import math
import time
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from greenops_tb.meters.base import Meter, Reading

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_GPU_IS_LOST = 15


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


@dataclass(frozen=True)
class Profile:
    """Power in watts and its exact integral in joules, both of t in seconds."""

    power: Callable[[float], float]
    energy: Callable[[float], float]


def constant(watts: float) -> Profile:
    return Profile(lambda t: watts, lambda t: watts * t)


def sine(mean: float, amplitude: float, period: float) -> Profile:
    """``mean + amplitude * sin(2 pi t / period)``: a load that rises and falls."""
    w = 2 * math.pi / period
    return Profile(lambda t: mean + amplitude * math.sin(w * t), lambda t: mean * t + amplitude * (1 - math.cos(w * t)) / w)


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA Fake A100-SXM4-40GB"
    profile: Profile = field(default_factory=lambda: constant(250.0))
    energy_counter: bool = True
    power: bool = True
    counter_period_s: float = 0.0  # 0: the counter is exact at every read
    power_limit_w: float | None = 400.0
    fail_after_s: float | None = None
    mig_uuids: tuple[str, ...] = ()
    utilization: float | Callable[[float], float] | None = 87
    memory_total: int = 40 * 2**30
    memory_used: int | None = 12 * 2**30
    calls: int = 0
    counter_offset_mj: int = 0
    counter_fault: Callable[[int], object] | None = None


@dataclass(frozen=True)
class _Handle:
    gpu: int
    mig: int | None = None


def make_fake_nvml(gpus: list[FakeGpu], *, driver: str = "550.54.15", init_error: int | None = None) -> types.ModuleType:
    """A module object with the parts of pynvml's API that greenops_tb uses."""
    t0 = time.perf_counter()
    mod = types.ModuleType("pynvml")
    mod.NVMLError = NVMLError
    mod.NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    mod.NVML_ERROR_NOT_FOUND = NVML_ERROR_NOT_FOUND
    mod.gpus = gpus
    mod.init_count = 0

    def now() -> float:
        return time.perf_counter() - t0

    def gpu_of(handle: _Handle) -> FakeGpu:
        if mod.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        g = gpus[handle.gpu]
        g.calls += 1
        if g.fail_after_s is not None and now() >= g.fail_after_s:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        return g

    def nvmlInit() -> None:
        if init_error is not None:
            raise NVMLError(init_error)
        mod.init_count += 1

    def nvmlShutdown() -> None:
        if mod.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        mod.init_count -= 1

    def nvmlSystemGetDriverVersion() -> str:
        return driver

    def nvmlDeviceGetCount() -> int:
        if mod.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        return len(gpus)

    def nvmlDeviceGetHandleByIndex(i: int) -> _Handle:
        if not 0 <= i < len(gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(i)

    def nvmlDeviceGetUUID(h: _Handle) -> str:
        g = gpu_of(h)
        return g.mig_uuids[h.mig] if h.mig is not None else g.uuid

    def nvmlDeviceGetName(h: _Handle) -> str:
        return gpu_of(h).name

    def nvmlDeviceGetTotalEnergyConsumption(h: _Handle) -> int:
        g = gpu_of(h)
        if not g.energy_counter or h.mig is not None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        t = now()
        if g.counter_period_s:
            t = math.floor(t / g.counter_period_s) * g.counter_period_s
        value = (10**9 + int(g.profile.energy(t) * 1000) + g.counter_offset_mj) % 2**64  # mJ since "driver load"
        return g.counter_fault(value) if g.counter_fault is not None else value  # type: ignore[return-value]

    def reset_counter(i: int) -> None:
        g = gpus[i]
        g.counter_offset_mj -= (10**9 + int(g.profile.energy(now()) * 1000) + g.counter_offset_mj) % 2**64

    def nvmlDeviceGetPowerUsage(h: _Handle) -> int:
        g = gpu_of(h)
        if not g.power or h.mig is not None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return int(round(g.profile.power(now()) * 1000))  # mW

    def nvmlDeviceGetEnforcedPowerLimit(h: _Handle) -> int:
        g = gpu_of(h)
        if g.power_limit_w is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return int(g.power_limit_w * 1000)

    def nvmlDeviceGetUtilizationRates(h: _Handle) -> types.SimpleNamespace:
        g = gpu_of(h)
        if g.utilization is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        util = round(g.utilization(now()) if callable(g.utilization) else g.utilization)
        return types.SimpleNamespace(gpu=util, memory=util // 2)

    def nvmlDeviceGetMemoryInfo(h: _Handle) -> types.SimpleNamespace:
        g = gpu_of(h)
        if g.memory_used is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return types.SimpleNamespace(total=g.memory_total, used=g.memory_used, free=g.memory_total - g.memory_used)

    def nvmlDeviceGetMaxMigDeviceCount(h: _Handle) -> int:
        g = gpu_of(h)
        if not g.mig_uuids:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(h: _Handle, i: int) -> _Handle:
        g = gpu_of(h)
        if i >= len(g.mig_uuids):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return _Handle(h.gpu, i)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(h: _Handle) -> _Handle:
        return _Handle(h.gpu)

    for fn in list(locals().values()):
        if callable(fn) and getattr(fn, "__name__", "").startswith("nvml"):
            setattr(mod, fn.__name__, fn)
    mod.elapsed = now
    mod.reset_counter = reset_counter
    return mod


def window(
    mod: types.ModuleType, meter: "Meter", seconds: float, settle: float = 0.05
) -> tuple[float, float, "Reading", "Reading"]:
    """Read ``meter`` twice ``seconds`` apart (after ``settle``), then close it.

    Returns (ta, tb, a, b): the stand-in's clock just before each read (what profiles
    are functions of) and the two readings.
    """
    try:
        time.sleep(settle)
        ta = mod.elapsed()
        a = meter.read()
        time.sleep(seconds)
        tb = mod.elapsed()
        b = meter.read()
    finally:
        meter.close()
    return ta, tb, a, b
