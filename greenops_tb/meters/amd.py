"""AMD GPU energy through AMD SMI (``import amdsmi``, the optional extra ``greenops_tb[amd]``).

One source per physical GPU socket the process uses (see :mod:`amd_devices`;
compute partitions share their socket's source):

* ``amdsmi-energy``: ``amdsmi_get_energy_count``: ``energy_accumulator`` x
  ``counter_resolution`` microjoules, read at boundaries and by the sampler
  (so a wrap is never missed: a smaller value wrapped at 2**32 on older
  firmware, else 2**64). The counter is **validated at start**: over
  ``validate_s`` seconds its energy must be within a factor
  :data:`COUNTER_BOUND` of the power readings' (zeus disables it where
  ROCm reports nonsense, ROCm/amdsmi#38; CodeCarbon's first AMD release
  reported ~12.5 MW); one that disagrees, or that cannot be checked
  because the GPU draws ~0 W, is not used, and ``doctor`` says why.
* ``amdsmi-power-sampled``: ``amdsmi_get_power_info`` (``current_socket_power``,
  else ``average_socket_power``, W) sampled and integrated.
* ``model-gpu-tdp-util``: power cap (``amdsmi_get_power_cap_info``, uW) or
  the table's TDP x ``gfx_activity``.
* After a mid-run failure: counter -> sampled power -> constant model (:mod:`gpu_model`).

Context: ``gfx_activity`` (%) and VRAM used (``amdsmi_get_gpu_vram_usage``, MB).
amdsmi is imported in exactly one place, :func:`_load_amdsmi`.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from greenops_tb.meters.amd_devices import AmdGpu, visible_amd_gpus
from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.gpu_common import (
    GpuActivity,
    Held,
    Session,
    call,
    start_session,
)
from greenops_tb.meters.gpu_model import GpuTdp, gpu_model_after, gpu_tdp
from greenops_tb.meters.integrate import PowerIntegrator
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S
from greenops_tb.meters.visible_devices import GpusOption

log = logging.getLogger(__name__)

#: the counter's energy over the validation window must be within this factor of power x time
COUNTER_BOUND = 2.0
DEFAULT_VALIDATE_S = 0.25
ENERGY, POWER, MODEL = "amdsmi-energy", "amdsmi-power-sampled", "model-gpu-tdp-util"
#: present whenever the amdgpu kernel driver is loaded (also inside containers): without it there is no AMD GPU
AMDGPU_DRIVER = "/sys/module/amdgpu"


def _load_amdsmi() -> Any | None:
    """The amdsmi module (or the stand-in in ``sys.modules``), None when it is not installed or unusable.

    Without ROCm's ``libamd_smi.so`` the package prints a hint and raises KeyError on import:
    that text goes to the debug log, not to the user's console.
    """
    if "amdsmi" not in sys.modules and not os.path.exists(AMDGPU_DRIVER):
        return None  # no amdgpu kernel driver, so no AMD GPU: skip the ~40 ms import at start-up
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            import amdsmi
    except Exception as err:  # noqa: BLE001 - ImportError, or KeyError/OSError when libamd_smi.so is missing
        log.debug("amdsmi unusable (%s: %s) %s", type(err).__name__, err, said.getvalue().strip())
        return None
    return amdsmi


def power_w(lib: Any, handle: Any) -> float:
    """Socket power in W (current, else average); raises when neither is reported."""
    info = lib.amdsmi_get_power_info(handle)
    for key in ("current_socket_power", "average_socket_power"):
        value = info.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    raise RuntimeError("amdsmi reports no socket power (N/A)")


def counter_uj(lib: Any, handle: Any) -> tuple[int, float]:
    """(raw accumulator, microjoules per step)."""
    d = lib.amdsmi_get_energy_count(handle)
    acc = d["energy_accumulator"] if "energy_accumulator" in d else d["power"]  # "power" before amdsmi 6.2.1
    return int(acc), float(d["counter_resolution"])


def _util(lib: Any, handle: Any) -> float:
    value = lib.amdsmi_get_gpu_activity(handle)["gfx_activity"]
    if not isinstance(value, (int, float)):
        raise RuntimeError(f"gfx_activity is {value!r}")
    return float(value)


def amd_activity(lib: Any, handle: Any) -> GpuActivity:
    return GpuActivity(lambda: _util(lib, handle), lambda: lib.amdsmi_get_gpu_vram_usage(handle)["vram_used"] / 1000.0)


@dataclass(frozen=True, slots=True)
class AmdSupport:
    """What amdsmi can measure on one socket; an ``*_error`` is None when supported."""

    counter_error: str | None  # unreadable, or failed validation (with the figures)
    power_error: str | None
    power_cap_w: float | None
    utilization_error: str | None
    counter_ratio: float | None = None  # counter energy / power x time over the validation window


def probe(lib: Any, gpus: Sequence[AmdGpu], validate_s: float = DEFAULT_VALIDATE_S) -> list[AmdSupport]:
    """Try counter, power, power cap and activity of each socket; validate the counters over one shared window."""
    start = []
    for g in gpus:
        c0, cerr = call(counter_uj, lib, g.socket_handle)
        p0, perr = call(power_w, lib, g.socket_handle)
        start.append((c0, cerr, p0, perr, time.perf_counter()))
    if validate_s > 0 and any(c is not None and p is not None for c, _, p, _, _ in start):
        time.sleep(validate_s)
    out = []
    for g, (c0, cerr, p0, perr, t0) in zip(gpus, start):
        cap, _ = call(lib.amdsmi_get_power_cap_info, g.socket_handle)
        cap_w = cap["power_cap"] / 1e6 if cap and cap.get("power_cap") else None
        _, uerr = call(_util, lib, g.handle)
        ratio = None
        if cerr is None and perr is None:
            c1, cerr = call(counter_uj, lib, g.socket_handle)
            p1, _ = call(power_w, lib, g.socket_handle)
            if c1 is not None:
                expected = 0.5 * (p0 + (p1 if p1 is not None else p0)) * (time.perf_counter() - t0)
                measured = _delta(c0[0], c1[0]) * c1[1] / 1e6
                ratio = measured / expected if expected > 1e-3 else None
                if ratio is None:
                    cerr = f"cannot be validated: the GPU draws ~0 W ({p0:g} W) over {validate_s:g}s"
                elif not 1 / COUNTER_BOUND <= ratio <= COUNTER_BOUND:
                    cerr = (f"disagrees with sampled power: {measured:.3g} J counted vs {expected:.3g} J from power "
                            f"x time over {validate_s:g}s (ratio {ratio:.3g}, bound {COUNTER_BOUND:g}x)")
        out.append(AmdSupport(cerr, perr, cap_w, uerr, ratio))
    return out


def _delta(prev: int, cur: int) -> int:
    """Accumulator steps from ``prev`` to ``cur``, unwrapping a 32- or 64-bit wrap."""
    if cur >= prev:
        return cur - prev
    return cur + 2 ** (32 if prev < 2**32 else 64) - prev


def measurement(name: str, s: AmdSupport, mode: str = "auto") -> tuple[str, GpuTdp | None]:
    """How a socket is measured (its label, or "not measured") and, for the model, its TDP."""
    if s.counter_error is None and mode == "auto":
        return ENERGY, None
    if s.power_error is None:
        return POWER, None
    tdp = gpu_tdp(name, s.power_cap_w)
    if tdp is not None and s.utilization_error is None:
        return MODEL, tdp
    return "not measured", tdp


class AmdSource(EnergySource):
    """One AMD socket: the validated counter, sampled power or TDP x activity (``how``)."""

    scope = "device"

    def __init__(self, session: Session, gpu: AmdGpu, support: AmdSupport, how: str, *,
                 tdp: GpuTdp | None = None, activity: GpuActivity | None = None,
                 interval: float = DEFAULT_INTERVAL_S, first_id: int = 0) -> None:
        self.devices = (Device(f"gpu:{first_id + gpu.cuda_index}", "gpu", gpu.name),)
        self.gpu, self.support, self.how, self.tdp = gpu, support, how, tdp
        self.lib = session.lib
        self._session = session
        self.activity = activity or amd_activity(session.lib, gpu.handle)
        self.sample_interval = interval
        self.interval = interval
        self._first_id = first_id
        self._lock = threading.Lock()
        self._integ = PowerIntegrator(1)
        self._t0 = self._last_t = time.perf_counter()
        self._last_j = 0.0
        self._steps = 0
        if how == ENERGY:
            self._acc, self._res = counter_uj(self.lib, gpu.socket_handle)
        self._held = Held(session)

    def _advance(self) -> float:
        with self._lock:  # under the lock: values applied out of order would look like a wrap
            acc, self._res = counter_uj(self.lib, self.gpu.socket_handle)
            self._steps += _delta(self._acc, acc)
            self._acc = acc
            return self._steps * self._res / 1e6

    def _watts(self, t: float) -> float:
        if self.how == POWER:
            self.activity.sample(t)
            return power_w(self.lib, self.gpu.socket_handle)
        util = self.activity.sample(t)
        if util is None or self.tdp is None:
            raise RuntimeError(f"GPU activity is no longer readable ({self.activity.util_error})")
        return self.tdp.watts * util / 100.0

    def sample(self) -> None:
        t = time.perf_counter()
        if self.how == ENERGY:
            self.activity.sample(t)
            self._seen(self._advance())
        else:
            self._integ.add(t, [self._watts(t)])

    def _seen(self, j: float) -> float:
        """Note the energy so far (never decreasing): what a fallback model continues from."""
        with self._lock:
            self._last_j = max(self._last_j, j)
            self._last_t = time.perf_counter()
            return self._last_j

    def read(self) -> Sequence[float]:
        return [self._seen(self._advance() if self.how == ENERGY else self._integ.joules()[0])]

    def context(self) -> Sequence[Mapping[str, float]]:
        return [self.activity.context(time.perf_counter())]

    def provenance(self) -> Sequence[str]:
        unchecked = " (unvalidated: no power reading)" if self.how == ENERGY and self.support.power_error else ""
        return [self.how + unchecked + (" [partition: whole socket]" if self.gpu.partitions > 1 else "")]

    def fallback(self, error: BaseException) -> EnergySource | None:
        """Sampled power if amdsmi still gives it, else the constant-power model."""
        if self.how == ENERGY and call(power_w, self.lib, self.gpu.socket_handle)[1] is None:
            return AmdSource(self._session, self.gpu, self.support, POWER, activity=self.activity,
                             interval=self.interval, first_id=self._first_id)
        return gpu_model_after(self.devices[0], self._last_j, self._last_t - self._t0, self.support.power_cap_w)

    def close(self) -> None:
        self._held.release()


def amd_sources(
    gpus: GpusOption = None,
    *,
    interval: float | None = None,
    env: Mapping[str, str] | None = None,
    hip: bool | None = None,
    validate_s: float = DEFAULT_VALIDATE_S,
    mode: str = "auto",
    first_id: int = 0,
) -> list[EnergySource]:
    """One source per AMD GPU socket this process uses; empty when amdsmi or AMD GPUs are missing.

    ``mode``: "auto" (the validated counter, else sampled power) or "power".
    ``validate_s``: the counter validation window; ``first_id``: the first device id (``gpu:<n>``).
    Raises ValueError only for a bad ``gpus=`` or mode.
    """
    session = start_session(_load_amdsmi(), lambda lib: lib.amdsmi_init(lib.AmdSmiInitFlags.INIT_AMD_GPUS),
                            "amdsmi_shut_down", "AMD SMI (pip install greenops_tb[amd])", gpus=gpus, mode=mode)
    if session is None:
        return []
    lib = session.lib
    sources: list[EnergySource] = []
    try:
        try:
            selected = visible_amd_gpus(lib, os.environ if env is None else env, gpus, hip=hip)
        except ValueError:
            raise
        except Exception as err:  # noqa: BLE001
            log.debug("listing AMD GPUs failed: %s", err)
            selected = []
        sockets = list({g.socket: g for g in reversed(selected)}.values())[::-1]  # first partition of each socket
        for gpu, support in zip(sockets, probe(lib, sockets, validate_s if mode == "auto" else 0.0)):
            how, tdp = measurement(gpu.name, support, mode)
            if how == "not measured":
                warnings.warn(
                    f"greenops_tb: AMD GPU cuda:{gpu.cuda_index} ({gpu.name}) reports neither a usable energy "
                    f"counter ({support.counter_error}) nor power ({support.power_error}), and its TDP or activity "
                    "is unknown; it is not measured", RuntimeWarning, stacklevel=2)
                continue
            if support.counter_error and how != ENERGY and mode == "auto":
                log.info("AMD GPU cuda:%s: energy counter not used (%s); %s instead", gpu.cuda_index,
                         support.counter_error, how)
            sources.append(AmdSource(session, gpu, support, how, tdp=tdp, interval=interval or DEFAULT_INTERVAL_S,
                                     first_id=first_id))
    finally:
        session.release()
    return sources
