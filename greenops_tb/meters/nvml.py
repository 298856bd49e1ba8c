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
  accumulate. Every counter delta is checked against what the GPU can draw
  (:mod:`counter`: 1.5 x its power limit or TDP): a reset, a jump or garbage counts
  sampled power for that interval instead, labelled ``nvml-energy (glitch: reset)``.
* ``nvml-power-sampled``: GPUs without the counter: power (mW) sampled by the
  shared background sampler and integrated (trapezoid, monotonic clock).
* ``model-gpu-tdp-util``: GPUs NVML sees but whose power it cannot read at
  all: TDP (enforced power limit, else the embedded table) x utilisation
  (``nvmlDeviceGetUtilizationRates``), sampled and integrated the same way.
* After a mid-run failure: the counter degrades to sampled power if that
  still works, else (and sampled power degrades) to a constant-power model
  (:mod:`gpu_model`).

Device context: every source carries its GPU's :class:`GpuActivity`
(utilisation and used memory, read by the sampler thread, never at a
boundary), so records say ``util_pct`` (mean over the interval) and
``mem_used_gb`` (at its end) next to the GPU's energy.

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
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.counter import Counter, plausible_max_w
from greenops_tb.meters.gpu_common import (
    MEM_KEY,
    UTIL_KEY,
    GpuActivity,
    Held,
    Session,
    start_session,
)
from greenops_tb.meters.gpu_common import call as _call
from greenops_tb.meters.gpu_model import GpuTdp, gpu_model_after, gpu_tdp
from greenops_tb.meters.integrate import PowerIntegrator
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S
from greenops_tb.meters.visible_devices import GpusOption, VisibleGpu, visible_gpus

log = logging.getLogger(__name__)

_GB = 1e9
__all__ = ["MEM_KEY", "UTIL_KEY", "NvmlEnergySource", "NvmlPowerSource", "NvmlUtilModelSource", "nvml_sources"]
#: the bound on a GPU's power when neither its power limit nor its TDP is known (no GPU draws more)
DEFAULT_MAX_GPU_W = 2000.0
#: the energy counter (unsigned 64-bit mJ) refreshes in chunks (tens of ms): a delta may carry this long's energy on top
COUNTER_SLACK_S = 0.25


def _load_pynvml() -> Any | None:
    """The pynvml module (or the stand-in in ``sys.modules``), None when nvidia-ml-py is missing."""
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


@dataclass(frozen=True, slots=True)
class GpuSupport:
    """What NVML can measure on one GPU; a field is None when supported, else the error text."""

    energy_counter_error: str | None
    power_error: str | None
    power_limit_w: float | None
    utilization_error: str | None = None


def probe_gpu(nvml: Any, handle: Any) -> GpuSupport:
    """Try the energy counter, power, power limit and utilisation of one GPU."""
    _, energy_err = _call(nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
    _, power_err = _call(nvml.nvmlDeviceGetPowerUsage, handle)
    limit_mw, _ = _call(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    _, util_err = _call(nvml.nvmlDeviceGetUtilizationRates, handle)
    return GpuSupport(energy_err, power_err, limit_mw / 1000.0 if limit_mw else None, util_err)


def measurement(name: str, support: GpuSupport, mode: str = "auto") -> tuple[str, GpuTdp | None]:
    """How a GPU is measured (its provenance label, or "not measured") and, for the model, its TDP."""
    if support.energy_counter_error is None and mode == "auto":
        return NvmlEnergySource.label, None
    if support.power_error is None:
        return NvmlPowerSource.label, None
    tdp = gpu_tdp(name, support.power_limit_w)
    if tdp is not None and support.utilization_error is None:
        return NvmlUtilModelSource.label, tdp
    return "not measured", tdp


def nvml_activity(nvml: Any, handle: Any) -> GpuActivity:
    """Utilisation (``nvmlDeviceGetUtilizationRates``) and used memory (``nvmlDeviceGetMemoryInfo``) of a GPU."""
    return GpuActivity(lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu,
                       lambda: nvml.nvmlDeviceGetMemoryInfo(handle).used / _GB)


class _NvmlGpu(EnergySource):
    """Common part of the NVML sources: one GPU, its session, activity (context) and fallback."""

    scope = "device"
    label = "nvml"
    #: power comes from the sampler (else it samples only the activity, and only where NVML gives any)
    sampled = False

    def __init__(
        self,
        session: Session,
        gpu: VisibleGpu,
        support: GpuSupport,
        activity: GpuActivity | None = None,
        interval: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self.devices = (Device(f"gpu:{gpu.cuda_index}", "gpu", gpu.name),)
        self.gpu = gpu
        self.nvml = session.lib
        self._session = session
        self._support = support
        self.activity = activity or nvml_activity(session.lib, gpu.handle)
        self.interval = interval
        self.sample_interval = interval if self.sampled or self.activity.readable else None
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._last_t = self._t0
        self._last_j = 0.0
        self._held = Held(session)

    def _suffix(self) -> str:
        return " [MIG: whole GPU]" if self.gpu.mig_uuid else ""

    def provenance(self) -> Sequence[str]:
        return [self.label + self._suffix()]

    def power_w(self) -> float:
        return self.nvml.nvmlDeviceGetPowerUsage(self.gpu.handle) / 1000.0

    def sample(self) -> None:
        self.activity.sample(time.perf_counter())

    def context(self) -> Sequence[Mapping[str, float]]:
        return [self.activity.context(time.perf_counter())]

    def fallback(self, error: BaseException) -> EnergySource | None:
        return gpu_model_after(self.devices[0], self._last_j, self._last_t - self._t0, self._support.power_limit_w)

    def close(self) -> None:
        self._held.release()


class NvmlEnergySource(_NvmlGpu):
    """Energy counter read at boundaries, with power interpolation between counter refreshes.

    The sampler only reads the GPU's activity (context), and only where NVML gives any.
    """

    label = "nvml-energy"

    def __init__(self, session: Session, gpu: VisibleGpu, support: GpuSupport, **kw: Any) -> None:
        super().__init__(session, gpu, support, **kw)
        tdp = gpu_tdp(gpu.name, support.power_limit_w)
        now = time.perf_counter()
        self._counter = Counter(
            f"the NVML energy counter of gpu:{gpu.cuda_index}",
            int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(gpu.handle)), now, joules_per_unit=1e-3, wrap_at=2**64,
            max_power_w=plausible_max_w(tdp.watts if tdp else None, DEFAULT_MAX_GPU_W), slack_s=COUNTER_SLACK_S,
        )
        self._seen_t = now  # when the counter was first seen at its current value
        self._interp = False

    def _power_estimate(self) -> float:
        return min(self.power_w(), self._counter.max_power_w)

    def read(self) -> Sequence[float]:
        with self._lock:  # counter read under the lock, so threads see its values in order
            raw = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.gpu.handle)
            now = time.perf_counter()
            self._counter.advance(raw, now, self._power_estimate)
            extra = 0.0
            if self._counter.changed:
                self._seen_t = now
            elif now > self._seen_t:
                extra = self._power_estimate() * (now - self._seen_t)
            self._interp = extra > 0
            self._last_j = max(self._last_j, self._counter.joules + extra)
            self._last_t = now
            return [self._last_j]

    def provenance(self) -> Sequence[str]:
        label = "nvml-energy+power-interp" if self._interp else "nvml-energy"
        glitch = self._counter.label
        self._counter.shown()
        return [label + (f" ({glitch})" if glitch else "") + self._suffix()]

    def fallback(self, error: BaseException) -> EnergySource | None:
        """Sampled power if NVML still gives it, else the constant-power model."""
        try:
            self.power_w()
            support = GpuSupport(f"{type(error).__name__}: {error}", None, self._support.power_limit_w)
            return NvmlPowerSource(self._session, self.gpu, support, activity=self.activity, interval=self.interval)
        except Exception:  # noqa: BLE001
            return super().fallback(error)


class _SampledPower(_NvmlGpu):
    """Power from ``_watts(t)`` at every sample, integrated (trapezoid) by a :class:`PowerIntegrator`."""

    sampled = True

    def __init__(self, session: Session, gpu: VisibleGpu, support: GpuSupport, **kw: Any) -> None:
        super().__init__(session, gpu, support, **kw)
        self._integrator = PowerIntegrator(1)

    @abstractmethod
    def _watts(self, t: float) -> float:
        """The GPU's power now (``t``: monotonic time of the sample)."""

    def sample(self) -> None:
        t = time.perf_counter()
        self._integrator.add(t, [self._watts(t)])

    def read(self) -> Sequence[float]:
        return self.read_at(time.perf_counter())

    def read_at(self, t_mono: float) -> Sequence[float]:
        now = t_mono
        (j,) = self._integrator.joules(now)
        with self._lock:
            self._last_j = max(self._last_j, j)
            self._last_t = now
            return [self._last_j]


class NvmlPowerSource(_SampledPower):
    """Power (``nvmlDeviceGetPowerUsage``) sampled by the shared sampler and integrated."""

    label = "nvml-power-sampled"

    def _watts(self, t: float) -> float:
        watts = self.power_w()
        self.activity.sample(t)
        return watts


class NvmlUtilModelSource(_SampledPower):
    """A GPU NVML sees but whose power it cannot read: TDP x utilisation, sampled and integrated.

    TDP from the enforced power limit, else the embedded table (:func:`gpu_model.gpu_tdp`).
    An estimate, labelled ``model-gpu-tdp-util``: an idle GPU counts as 0 W and a busy one
    as its TDP, so it is an upper bound when busy and misses idle power.
    """

    label = "model-gpu-tdp-util"

    def __init__(self, session: Session, gpu: VisibleGpu, support: GpuSupport, tdp: GpuTdp, **kw: Any) -> None:
        self.tdp = tdp
        super().__init__(session, gpu, support, **kw)

    def _watts(self, t: float) -> float:
        util = self.activity.sample(t)
        if util is None:
            raise RuntimeError(f"GPU utilisation is no longer readable ({self.activity.util_error})")
        return self.tdp.watts * util / 100.0


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
    session = start_session(_load_pynvml(), lambda lib: lib.nvmlInit(), "nvmlShutdown", "NVML (nvidia-ml-py)",
                            gpus=gpus, mode=mode)
    if session is None:
        return []
    nvml = session.lib
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
            how, tdp = measurement(gpu.name, support, mode)
            kw = {"interval": interval or DEFAULT_INTERVAL_S}
            if how == NvmlEnergySource.label:
                sources.append(NvmlEnergySource(session, gpu, support, **kw))
            elif how == NvmlPowerSource.label:
                sources.append(NvmlPowerSource(session, gpu, support, **kw))
            elif tdp is not None and how == NvmlUtilModelSource.label:
                log.info("GPU cuda:%s (%s) reports neither energy nor power: modelled as TDP %g W (%s) x utilisation",
                         gpu.cuda_index, gpu.name, tdp.watts, tdp.source)
                sources.append(NvmlUtilModelSource(session, gpu, support, tdp, **kw))
            else:
                why = "its TDP is unknown (no power limit, no table row)" if tdp is None else \
                    f"its utilisation is unreadable ({support.utilization_error})"
                warnings.warn(
                    f"greenops_tb: GPU cuda:{gpu.cuda_index} ({gpu.name}) reports neither energy "
                    f"({support.energy_counter_error}) nor power ({support.power_error}), and {why}; "
                    "it is not measured",
                    RuntimeWarning,
                    stacklevel=2,
                )
    finally:
        session.release()
    return sources
