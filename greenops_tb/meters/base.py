"""The meter interface: energy sources report cumulative joules per device.

A :class:`EnergySource` covers one or more devices and returns, on ``read()``,
the cumulative joules of each since the source was created. Reads happen at
stage boundaries, from any thread, so they must be cheap (microseconds) and
thread-safe. Sources that only know power set ``sample_interval`` and are
integrated by the shared background :class:`~greenops_tb.meters.sampler.Sampler`.

The :class:`Meter` combines sources, keeps each device's provenance label,
and swaps a failing source for its fallback (one warning, energy continuity
kept, provenance saying why), so a measurement failure never reaches the
user's training loop.

Sources may also say what each device was doing (``context()``: e.g. GPU
utilisation and memory); the :class:`Meter` puts it into every
:class:`Reading` and :func:`context_between` turns two readings into a
record's per-device context.
"""
from __future__ import annotations

import logging
import threading
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Mapping, NamedTuple, Protocol, Sequence, runtime_checkable

from greenops_tb.errors import UsageError

log = logging.getLogger(__name__)

#: A context key ending in this suffix holds a running time integral (value x seconds since the
#: source started, e.g. ``util_pct*s``): a record gets its mean over the record's interval under
#: the key without the suffix (``util_pct``). Any other key is a gauge: the value at the interval's end.
INTEGRAL_SUFFIX = "*s"


@dataclass(frozen=True, slots=True)
class Device:
    """One measured device."""

    id: str  # unique within a run: "gpu:0", "cpu:0", "ram"
    kind: str  # "gpu" | "cpu" | "ram"
    name: str  # human label, e.g. "NVIDIA H100 80GB HBM3", "Intel(R) Xeon(R) ..."


class Reading(NamedTuple):
    """Cumulative joules of every device of a meter at one instant (a named tuple: made at every boundary, on
    the training thread, it costs a third of a frozen dataclass)."""

    t_mono: float  # time.perf_counter()
    t_wall: float  # time.time()
    joules: tuple[float, ...]  # aligned with Meter.devices
    #: per device, what its source says it was doing (see ``EnergySource.context``); None when no source says
    context: tuple[Mapping[str, float], ...] | None = None


def context_between(a: Reading, b: Reading) -> tuple[dict[str, float], ...] | None:
    """Each device's context over the interval from ``a`` to ``b``: integrals become means, gauges their value at ``b``.

    A mean needs the integral at both ends (a source swapped in between has none at ``a``) and a
    positive duration; otherwise that key is left out. None when ``b`` carries no context.
    """
    if b.context is None:
        return None
    dt = b.t_mono - a.t_mono
    before = a.context or ({},) * len(b.context)
    out = []
    for ca, cb in zip(before, b.context):
        d: dict[str, float] = {}
        out.append(d)
        for k, v in cb.items():
            if not k.endswith(INTEGRAL_SUFFIX):
                d[k] = v
            elif k in ca and dt > 0 and v >= ca[k]:
                d[k[: -len(INTEGRAL_SUFFIX)]] = (v - ca[k]) / dt
    return tuple(out)


class EnergySource(ABC):
    """Cumulative energy of some devices. Subclasses set ``devices``."""

    devices: tuple[Device, ...] = ()
    #: seconds between ``sample()`` calls wanted from the background sampler; None = never
    sample_interval: float | None = None
    #: what the numbers cover, for distributed jobs: "host" (the whole machine, e.g. RAPL: measured once per
    #: host), "process" (this process's share, e.g. the CPU-time model: measured on every rank) or "device"
    #: (devices this rank uses, e.g. its GPUs); None: "device" for GPU-only sources, else "host"
    scope: str | None = None
    #: True when ``provenance()`` never changes (a model's label): the :class:`Meter` then reads it once, not
    #: at every boundary; sources whose labels note glitches as they happen keep False
    fixed_provenance: bool = False

    @abstractmethod
    def read(self) -> Sequence[float]:
        """Cumulative joules per device (aligned with ``devices``), non-decreasing."""

    def read_at(self, t_mono: float) -> Sequence[float]:
        """``read()`` for the instant ``t_mono`` (``time.perf_counter()``) the :class:`Meter` stamps its reading with.

        Sources whose energy is a function of time (models, integrated power) override it, so a
        reading's joules and its ``t_mono`` describe the same instant; counters read now.
        """
        return self.read()

    @abstractmethod
    def provenance(self) -> Sequence[str]:
        """Label per device, e.g. ``nvml-energy``, ``rapl``, ``model-tdp``."""

    def sample(self) -> None:
        """Called by the background sampler every ``sample_interval`` seconds."""

    def context(self) -> Sequence[Mapping[str, float]]:
        """Per device, what it is doing now beyond energy (e.g. ``{"util_pct*s": ..., "mem_used_gb": ...}``).

        Optional: the default says nothing, and the :class:`Meter` calls only sources that override
        it, at every boundary, so it must be as cheap as ``read()`` (values the sampler already read).
        Keys ending in :data:`INTEGRAL_SUFFIX` are running time integrals (records get the mean).
        """
        return [{} for _ in self.devices]

    def fallback(self, error: BaseException) -> "EnergySource | None":
        """A replacement source for the same devices after ``error``, or None."""
        return None

    def close(self) -> None:
        """Release resources (handles, files)."""


class _Slot:
    """A source plus the offset that keeps cumulative joules continuous across fallbacks."""

    __slots__ = ("source", "offset", "last", "note", "failed", "has_context", "_no_context")

    def __init__(self, source: EnergySource) -> None:
        #: joules of the sources this one replaced, per device (None before a fallback: nothing to add)
        self.offset: list[float] | None = None
        self.last: Sequence[float] = [0.0] * len(source.devices)
        self.note = ""
        self.failed: BaseException | None = None
        self.set_source(source)

    def set_source(self, source: EnergySource) -> None:
        self.source: EnergySource = source
        self.has_context = type(source).context is not EnergySource.context
        self._no_context: tuple[Mapping[str, float], ...] = ({},) * len(source.devices)  # read-only

    def context(self) -> Sequence[Mapping[str, float]]:
        """The source's context, or empty ones when it has none or fails to say (never an error)."""
        if self.has_context:
            try:
                ctx = self.source.context()
                if len(ctx) == len(self.source.devices):
                    return ctx
                log.debug("%s.context() gave %d entries for %d devices", type(self.source).__name__, len(ctx),
                          len(self.source.devices))
            except Exception:  # noqa: BLE001 - context is optional; energy goes on without it
                log.debug("context of %s failed", type(self.source).__name__, exc_info=True)
        return self._no_context


@runtime_checkable
class MeterLike(Protocol):
    """What stages and the writer read: :class:`Meter`, or ``distributed.JobMeter`` for a whole job."""

    devices: tuple[Device, ...]

    @property
    def sources(self) -> tuple[EnergySource, ...]:
        ...

    def read(self) -> Reading:
        ...

    def provenance(self) -> tuple[str, ...]:
        ...

    def close(self) -> None:
        ...


class Meter:
    """Reads all sources at once; degrades failing sources to their fallback."""

    def __init__(self, sources: Sequence[EnergySource]) -> None:
        self._slots = [_Slot(s) for s in sources]
        ids = [d.id for s in sources for d in s.devices]
        if len(ids) != len(set(ids)):
            raise UsageError(f"duplicate device ids across meters: {ids}; give each source distinct devices")
        self.devices: tuple[Device, ...] = tuple(d for s in sources for d in s.devices)
        self._lock = threading.Lock()
        self._any_context = any(slot.has_context for slot in self._slots)
        self._fixed: tuple[str, ...] | None = None  # the labels, while every source's are fixed
        self._swaps = 0  # sources replaced so far (a label computed before a swap is never kept)
        self._sampler = None
        if any(s.sample_interval for s in sources):
            from greenops_tb.meters.sampler import Sampler

            self._sampler = Sampler.shared()
            for slot in self._slots:
                if slot.source.sample_interval:
                    self._sampler.register(slot.source, on_error=self._make_on_error(slot))

    @property
    def sources(self) -> tuple[EnergySource, ...]:
        return tuple(s.source for s in self._slots)

    def _make_on_error(self, slot: _Slot):
        def on_error(err: BaseException) -> None:
            slot.failed = err

        return on_error

    def read(self) -> Reading:
        """Every source's cumulative joules at one instant: ``t_mono`` is read once and serves them all.

        A source replaced by its fallback during the read did not exist at that instant: every source is then
        read again at a new one, so the replacement's energy counts from this reading on, none of it lost."""
        swaps = self._swaps
        reading = self._read_all()
        return reading if self._swaps == swaps else self._read_all()

    def _read_all(self) -> Reading:
        t_mono = time.perf_counter()
        t_wall = time.time()
        joules: list[float] = []
        for slot in self._slots:
            if slot.failed is not None:
                self._degrade(slot, slot.source, slot.failed)
            src = slot.source
            try:
                vals = src.read_at(t_mono)
            except Exception as err:  # noqa: BLE001 - a meter must never crash training
                self._degrade(slot, src, err)
                try:
                    vals = slot.source.read_at(t_mono)
                except Exception as err2:  # noqa: BLE001
                    self._degrade(slot, slot.source, err2)
                    vals = slot.source.read_at(t_mono)
            cur = tuple(vals) if slot.offset is None else [o + v for o, v in zip(slot.offset, vals)]
            slot.last = cur
            joules.extend(cur)
        if not self._any_context:
            return Reading(t_mono, t_wall, tuple(joules))
        context: list[Mapping[str, float]] = []
        for slot in self._slots:
            context += slot.context()
        return Reading(t_mono, t_wall, tuple(joules), tuple(context))

    def _degrade(self, slot: _Slot, failing: EnergySource, err: BaseException) -> None:
        """Replace ``failing`` by its fallback, once, whichever thread sees the error first."""
        with self._lock:
            if slot.source is not failing:
                return  # another thread already swapped it
            slot.failed = None
            repl: EnergySource | None = None
            if not isinstance(failing, _Frozen):
                try:
                    repl = failing.fallback(err)
                except Exception as e2:  # noqa: BLE001
                    log.debug("fallback of %s failed: %s", type(failing).__name__, e2)
            if repl is None:
                repl = _Frozen(failing.devices)
            old_label = ",".join(sorted(set(failing.provenance())))
            slot.note = f" (fallback: {old_label} failed: {type(err).__name__}: {err})"
            warnings.warn(
                f"greenops_tb: energy source {old_label} for {[d.id for d in failing.devices]} failed "
                f"({type(err).__name__}: {err}); continuing with {','.join(sorted(set(repl.provenance())))}",
                RuntimeWarning,
                stacklevel=3,
            )
            if self._sampler is not None and failing.sample_interval:
                self._sampler.unregister(failing)
            try:
                failing.close()
            except Exception:  # noqa: BLE001
                log.debug("closing %s failed", type(failing).__name__, exc_info=True)
            slot.offset = list(slot.last)
            slot.set_source(repl)
            self._swaps += 1
            self._fixed = None
            self._any_context = any(s.has_context for s in self._slots)
            if self._sampler is not None and repl.sample_interval:
                self._sampler.register(repl, on_error=self._make_on_error(slot))

    def provenance(self) -> tuple[str, ...]:
        """Label per device, with the fallback reason where one happened."""
        if self._fixed is not None:
            return self._fixed
        swaps = self._swaps
        out: list[str] = []
        for slot in self._slots:
            out.extend(p + slot.note for p in slot.source.provenance())
        labels = tuple(out)
        if swaps == self._swaps and all(slot.source.fixed_provenance for slot in self._slots):
            self._fixed = labels  # until a source is replaced (see _degrade)
        return labels

    def close(self) -> None:
        for slot in self._slots:
            if self._sampler is not None and slot.source.sample_interval:
                self._sampler.unregister(slot.source)
            try:
                slot.source.close()
            except Exception:  # noqa: BLE001
                log.debug("closing %s failed", type(slot.source).__name__, exc_info=True)
        if self._sampler is not None:
            self._sampler.release()
            self._sampler = None


class _Frozen(EnergySource):
    """Last resort after a failure with no fallback: the device stops accumulating."""

    def __init__(self, devices: tuple[Device, ...]) -> None:
        self.devices = devices

    def read(self) -> Sequence[float]:
        return [0.0] * len(self.devices)

    def provenance(self) -> Sequence[str]:
        return ["unmeasured"] * len(self.devices)
