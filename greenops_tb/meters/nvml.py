"""NVIDIA GPU energy through NVML (``import pynvml``, from nvidia-ml-py).

One source per GPU the process uses (see :mod:`visible_devices`), so a GPU
that fails degrades alone:

* ``nvml-energy``: ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the
  driver loaded; Volta and newer) read at every stage boundary. The driver
  refreshes this counter periodically (tens of ms), so a boundary that falls
  between two refreshes adds the current power (``nvmlDeviceGetPowerUsage``)
  times the time since the counter last moved; a window shorter than one
  refresh is then power x time, never zero, and the record says
  ``nvml-energy+power-interp``. Reads never decrease; the counter itself
  takes over again at its next refresh, so the interpolation error does not
  accumulate.
* ``nvml-power-sampled``: GPUs without the counter: power (mW) sampled by the
  shared background sampler and integrated (trapezoid, monotonic clock).
* After a mid-run failure: the counter degrades to sampled power if that
  still works, else (and sampled power degrades) to a constant-power model
  (:mod:`gpu_model`).

NVML missing, no driver or no GPU: :func:`nvml_sources` returns nothing and
``doctor`` says why. NVML is imported in exactly one place,
:func:`_load_pynvml`, so tests can put a stand-in with NVML's API into
``sys.modules["pynvml"]`` and the parsing and arithmetic here run unchanged.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.gpu_model import gpu_model_after
from greenops_tb.meters.integrate import PowerIntegrator
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S
from greenops_tb.meters.visible_devices import GpusOption, VisibleGpu, parse_gpus, visible_gpus

log = logging.getLogger(__name__)


def _load_pynvml() -> Any | None:
    """The pynvml module (or the stand-in in ``sys.modules``), None when nvidia-ml-py is missing."""
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


@dataclass(frozen=True, slots=True)
class GpuContext:
    """What a GPU was doing at one instant (context for a record, not energy)."""

    utilization_pct: float | None
    memory_utilization_pct: float | None
    memory_used_bytes: int | None
    memory_total_bytes: int | None
    power_w: float | None


@dataclass(frozen=True, slots=True)
class GpuSupport:
    """What NVML can measure on one GPU; a field is None when supported, else the error text."""

    energy_counter_error: str | None
    power_error: str | None
    power_limit_w: float | None


def _call(fn: Any, *args: Any) -> tuple[Any, str | None]:
    try:
        return fn(*args), None
    except Exception as err:  # noqa: BLE001 - NVMLError subclasses, or AttributeError on old bindings
        return None, f"{type(err).__name__}: {err}"


def probe_gpu(nvml: Any, handle: Any) -> GpuSupport:
    """Try the energy counter, power and power limit of one GPU."""
    _, energy_err = _call(nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
    _, power_err = _call(nvml.nvmlDeviceGetPowerUsage, handle)
    limit_mw, _ = _call(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    return GpuSupport(energy_err, power_err, limit_mw / 1000.0 if limit_mw else None)


class _Session:
    """Reference-counted ``nvmlInit``/``nvmlShutdown`` shared by the sources of one selection."""

    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml
        self._refs = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            last = self._refs == 0
        if last:
            try:
                self.nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001
                log.debug("nvmlShutdown failed", exc_info=True)


class _NvmlGpu(EnergySource):
    """Common part of the NVML sources: one GPU, its session, context and fallback."""

    label = "nvml"

    def __init__(self, session: _Session, gpu: VisibleGpu, support: GpuSupport) -> None:
        self.devices = (Device(f"gpu:{gpu.cuda_index}", "gpu", gpu.name),)
        self.gpu = gpu
        self.nvml = session.nvml
        self._session = session
        self._support = support
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._last_t = self._t0
        self._last_j = 0.0
        self._closed = False
        session.acquire()

    def _suffix(self) -> str:
        return " [MIG: whole GPU]" if self.gpu.mig_uuid else ""

    def provenance(self) -> Sequence[str]:
        return [self.label + self._suffix()]

    def power_w(self) -> float:
        return self.nvml.nvmlDeviceGetPowerUsage(self.gpu.handle) / 1000.0

    def context(self) -> GpuContext:
        """Utilisation, memory and power now; a field is None where NVML does not say."""
        util, _ = _call(self.nvml.nvmlDeviceGetUtilizationRates, self.gpu.handle)
        mem, _ = _call(self.nvml.nvmlDeviceGetMemoryInfo, self.gpu.handle)
        power_mw, _ = _call(self.nvml.nvmlDeviceGetPowerUsage, self.gpu.handle)
        return GpuContext(
            utilization_pct=float(util.gpu) if util is not None else None,
            memory_utilization_pct=float(util.memory) if util is not None else None,
            memory_used_bytes=int(mem.used) if mem is not None else None,
            memory_total_bytes=int(mem.total) if mem is not None else None,
            power_w=power_mw / 1000.0 if power_mw is not None else None,
        )

    def fallback(self, error: BaseException) -> EnergySource | None:
        return gpu_model_after(self.devices[0], self._last_j, self._last_t - self._t0, self._support.power_limit_w)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._session.release()


class NvmlEnergySource(_NvmlGpu):
    """Energy counter read at boundaries, with power interpolation between counter refreshes."""

    label = "nvml-energy"

    def __init__(self, session: _Session, gpu: VisibleGpu, support: GpuSupport) -> None:
        super().__init__(session, gpu, support)
        self._mj0 = self._counter()
        self._mj = self._mj0
        self._seen_t = time.perf_counter()  # when the counter was first seen at its current value
        self._interp = False

    def _counter(self) -> int:
        return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.gpu.handle))

    def read(self) -> Sequence[float]:
        with self._lock:  # counter read under the lock, so threads see its values in order
            mj = self._counter()
            now = time.perf_counter()
            extra = 0.0
            if mj != self._mj:
                self._mj, self._seen_t = mj, now
            elif now > self._seen_t:
                extra = self.power_w() * (now - self._seen_t)
            self._interp = extra > 0
            self._last_j = max(self._last_j, (mj - self._mj0) / 1000.0 + extra)
            self._last_t = now
            return [self._last_j]

    def provenance(self) -> Sequence[str]:
        label = "nvml-energy+power-interp" if self._interp else "nvml-energy"
        return [label + self._suffix()]

    def fallback(self, error: BaseException) -> EnergySource | None:
        """Sampled power if NVML still gives it, else the constant-power model."""
        try:
            self.power_w()
            support = GpuSupport(f"{type(error).__name__}: {error}", None, self._support.power_limit_w)
            return NvmlPowerSource(self._session, self.gpu, support)
        except Exception:  # noqa: BLE001
            return super().fallback(error)


class NvmlPowerSource(_NvmlGpu):
    """Power sampled by the shared sampler and integrated (trapezoid)."""

    label = "nvml-power-sampled"

    def __init__(
        self, session: _Session, gpu: VisibleGpu, support: GpuSupport, interval: float = DEFAULT_INTERVAL_S
    ) -> None:
        super().__init__(session, gpu, support)
        self.sample_interval = interval
        self._integrator = PowerIntegrator(1)

    def sample(self) -> None:
        w = self.power_w()
        self._integrator.add(time.perf_counter(), [w])

    def read(self) -> Sequence[float]:
        now = time.perf_counter()
        (j,) = self._integrator.joules(now)
        with self._lock:
            self._last_j = max(self._last_j, j)
            self._last_t = now
            return [self._last_j]


def nvml_sources(
    gpus: GpusOption = None,
    *,
    interval: float | None = None,
    env: Mapping[str, str] | None = None,
    mode: str = "auto",
) -> list[EnergySource]:
    """One source per GPU this process uses; empty when NVML or GPUs are missing.

    ``mode``: "auto" (the energy counter where supported, else sampled power) or
    "power" (sampled power even where the counter exists, e.g. to compare the two).
    Raises ValueError only for a malformed or impossible ``gpus=`` option or mode.
    """
    if mode not in ("auto", "power"):
        raise ValueError(f"mode must be 'auto' or 'power', got {mode!r}")
    if parse_gpus(gpus) == []:
        return []
    nvml = _load_pynvml()
    if nvml is None:
        log.debug("nvidia-ml-py is not installed: GPUs are not measured")
        return []
    try:
        nvml.nvmlInit()
    except Exception as err:  # noqa: BLE001 - no driver / no library: nothing to measure
        log.debug("NVML unavailable (%s): GPUs are not measured", err)
        return []
    session = _Session(nvml)
    session.acquire()  # held while building, so a source closing early does not shut NVML down
    sources: list[EnergySource] = []
    try:
        try:
            selected = visible_gpus(nvml, os.environ if env is None else env, gpus)
        except ValueError:
            raise
        except Exception as err:  # noqa: BLE001
            log.debug("listing GPUs through NVML failed: %s", err)
            selected = []
        measured: set[int] = set()
        for gpu in selected:
            if gpu.nvml_index in measured:  # two MIG instances of one GPU: measure it once
                continue
            measured.add(gpu.nvml_index)
            support = probe_gpu(nvml, gpu.handle)
            if support.energy_counter_error is None and mode == "auto":
                sources.append(NvmlEnergySource(session, gpu, support))
            elif support.power_error is None:
                sources.append(NvmlPowerSource(session, gpu, support, interval or DEFAULT_INTERVAL_S))
            else:
                warnings.warn(
                    f"greenops_tb: GPU cuda:{gpu.cuda_index} ({gpu.name}) reports neither energy "
                    f"({support.energy_counter_error}) nor power ({support.power_error}); it is not measured",
                    RuntimeWarning,
                    stacklevel=2,
                )
    finally:
        session.release()
    return sources
