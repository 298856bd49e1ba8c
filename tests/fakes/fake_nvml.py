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
    #: compute processes: (pid, share of the SMs it keeps busy, 0..1); None: the calls are NOT_SUPPORTED
    processes: list[tuple[int, float]] | None = None
    calls: int = 0
    counter_offset_mj: int = 0
    counter_fault: Callable[[int], object] | None = None
    failures: int = 0  # calls answered with GPU_IS_LOST (fail_after_s passed)
    #: (t, watts) of every power answer and (t, percent) of every utilisation answer, in the order given
    power_log: list[tuple[float, float]] = field(default_factory=list)
    util_log: list[tuple[float, float]] = field(default_factory=list)


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
            g.failures += 1
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
        t = now()
        mw = int(round(g.profile.power(t) * 1000))  # mW
        g.power_log.append((t, mw / 1000))
        return mw

    def nvmlDeviceGetEnforcedPowerLimit(h: _Handle) -> int:
        g = gpu_of(h)
        if g.power_limit_w is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return int(g.power_limit_w * 1000)

    def nvmlDeviceGetUtilizationRates(h: _Handle) -> types.SimpleNamespace:
        g = gpu_of(h)
        if g.utilization is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        t = now()
        util = round(g.utilization(t) if callable(g.utilization) else g.utilization)
        g.util_log.append((t, float(util)))
        return types.SimpleNamespace(gpu=util, memory=util // 2)

    def nvmlDeviceGetMemoryInfo(h: _Handle) -> types.SimpleNamespace:
        g = gpu_of(h)
        if g.memory_used is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return types.SimpleNamespace(total=g.memory_total, used=g.memory_used, free=g.memory_total - g.memory_used)

    def nvmlDeviceGetComputeRunningProcesses(h: _Handle) -> list[types.SimpleNamespace]:
        g = gpu_of(h)
        if g.processes is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return [types.SimpleNamespace(pid=pid, usedGpuMemory=2**30) for pid, _ in g.processes]

    def nvmlDeviceGetProcessUtilization(h: _Handle, last_seen_us: int) -> list[types.SimpleNamespace]:
        """One sample per process at the current instant, if newer than ``last_seen_us`` (NOT_FOUND if none)."""
        g = gpu_of(h)
        if g.processes is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        ts = int(time.time() * 1e6)
        if not g.processes or ts <= last_seen_us:
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return [types.SimpleNamespace(pid=pid, timeStamp=ts, smUtil=round(share * 100), memUtil=0, encUtil=0,
                                      decUtil=0) for pid, share in g.processes]

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
        # NVML stand-ins log their answers: wait until the sampler asked each once (other vendors' fakes log none)
        logged = [g for g in getattr(mod, "gpus", []) if hasattr(g, "power_log")]
        wait_until(lambda: all(g.power_log or g.util_log or g.energy_counter for g in logged))
        ta = mod.elapsed()
        a = meter.read()
        time.sleep(seconds)
        tb = mod.elapsed()
        b = meter.read()
    finally:
        meter.close()
    return ta, tb, a, b


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "the sampler thread") -> None:
    """Poll ``condition`` (a loaded machine may run the sampler late); fail after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.005)


def integral_of_answers(log: list[tuple[float, float]], ta: float, tb: float, scale: float = 1.0) -> float:
    """Energy over [ta, tb] by the rule the project documents for sampled power (meters/integrate.py):
    trapezoids between the answers the stand-in gave (x ``scale``), the last answer held until the read."""

    def cumulative(t: float) -> float:
        pts = [(ti, v * scale) for ti, v in log if ti <= t]
        assert pts, "no answer before the read"
        j = sum(0.5 * (v0 + v1) * (t1 - t0) for (t0, v0), (t1, v1) in zip(pts, pts[1:]))
        return j + pts[-1][1] * (t - pts[-1][0])

    return cumulative(tb) - cumulative(ta)


def max_gap(log: list[tuple[float, float]], ta: float, tb: float) -> float:
    """Longest time in [ta, tb] without an answer (a loaded machine samples late)."""
    ts = [ta, *(t for t, _ in log if ta < t < tb), tb]
    return max(b - a for a, b in zip(ts, ts[1:]))
