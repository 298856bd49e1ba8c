"""Stage accounting: meter readings at boundaries -> :class:`~greenops_tb.format.schema.Record`.

A stage is a named, repeatable interval (``train``, ``eval``). Semantics:

* ``start(name)`` opens it, ``stop(name)`` closes it and emits a record,
  ``update(name)`` closes the current interval, emits a record and opens the
  next one at the same instant (loop style).
* Steps: each stage counts its own steps (``stage_step``): every record takes
  the current count, the next interval gets count + 1. A record's ``step`` (its
  place on the run's step axis, the event's step) is, in this order: ``step=`` on
  ``update``/``stop`` (labels the record being closed) or on ``start`` (labels the
  interval being opened), both of which also set the stage's count; else the
  highest ``global_step`` of the user's own ``add_*`` calls so far (``user_step``,
  the writer's default), so records sit on the same axis as the user's scalars and
  never go backwards, but within one opening of the stage at least its previous
  record's step + 1 (TensorBoard keeps one point per tag and step, the latest): a
  ``stop()`` right after the last ``update()`` lands one step later, where the next
  opening's first record may replace it in TensorBoard's series (its energy stays
  in every later record's running totals, and the CSV has every record); with one
  ``update()`` per batch and a ``global_step`` that counts batches, records line up
  with it however rarely it is logged. Else, before any such call or with
  ``step_axis="stage"``, the stage's own count.
* Epochs: each stage counts its own starts: the first ``start`` is epoch 0,
  every later ``start`` adds 1; ``epoch=`` on ``start`` sets it (later starts
  continue from there).
* Overlap: every open stage sees all the energy spent while it was open (a
  nested ``forward`` inside ``train`` is counted in both). The run ``total``
  counts every joule once: at each boundary the energy since the previous
  boundary is added iff at least one stage was open in between (the union of
  open intervals). Idle time between stages is not counted.
* Threads: all bookkeeping, meter reads and record emission happen under one
  lock, so records leave in ``seq`` order and totals stay consistent.
"""
from __future__ import annotations

import operator
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple

from greenops_tb.footprint import NO_FOOTPRINT, Footprint, FootprintTotals, IntervalFootprint, record_fields
from greenops_tb.format.schema import DEVICE_KINDS, SOURCES, DeviceEnergy, Record
from greenops_tb.format.tags import check_name
from greenops_tb.format.units import J_PER_KWH, avg_power_w, co2_kg
from greenops_tb.format.workunits import check_count
from greenops_tb.grid.types import Intensity
from greenops_tb.meters.base import MeterLike, Reading, context_between
from greenops_tb.recording.resume import Resumed, Seed
from greenops_tb.recording.totals import StageTotals
from greenops_tb.recording.watch import Watches

#: steps and epochs are stored as int64 (TensorBoard's step type)
_INT64 = (-(2**63), 2**63 - 1)


def check_step(value: Any, what: str = "step") -> int:
    """``value`` as an int: ints, numpy integers and 0-d integer tensors; ValueError/TypeError for anything else
    (text, NaN, 1.7, bool) and for values outside int64, so nothing is truncated or written wrongly."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer (int, numpy integer or 0-d integer tensor), "
                        f"got {value!r}") from None
    if not _INT64[0] <= out <= _INT64[1]:
        raise ValueError(f"{what} {out} is outside int64 ({_INT64[0]}..{_INT64[1]}), TensorBoard's step type")
    return out


@dataclass(frozen=True, slots=True)
class Pricing:
    """Everything per-record arithmetic needs besides energy and intensity."""

    run: str
    pue: float
    price_per_kwh: float | None
    currency: str
    price_source: str
    location: str
    location_source: str


_UNSET: Mapping[str, float] = {}  # an accumulator's shares before its first interval


class _Acc:
    """Running totals of a stage or of the run.

    The source mix is kept as facility energy per run of intervals with the same grid shares
    (one addition per interval), spread over the sources only when the shares change or totals are read.
    """

    __slots__ = ("records", "duration", "kwh", "by_kind", "by_device", "facility", "co2", "cost", "mix", "shifted",
                 "_shares", "_facility_at", "samples", "tokens", "footprint")

    def __init__(self, priced: bool) -> None:
        self.records = 0
        self.duration = 0.0
        self.kwh = 0.0
        self.by_kind = dict.fromkeys(DEVICE_KINDS, 0.0)
        self.by_device: list[float] = []  # IT kWh per meter device, in the meter's order
        self.facility = 0.0
        self.co2 = 0.0
        self.cost: float | None = 0.0 if priced else None
        self.mix: dict[str, float] = {}  # settled part
        self.shifted = False  # the grid's shares changed since the first interval
        self._shares: Mapping[str, float] = _UNSET
        self._facility_at = 0.0  # facility energy at self._shares, not yet in self.mix
        self.samples = self.tokens = 0  # work units counted (stages only; the run's stay 0)
        self.footprint = FootprintTotals()

    def add(self, duration: float, p: "_Priced") -> None:
        self.duration += duration
        by_kind = self.by_kind
        for k, v in p.kinds.items():
            by_kind[k] += v
        if self.by_device:
            self.by_device = list(map(float.__add__, self.by_device, p.devices))
        else:
            self.by_device = list(p.devices)
        self.kwh += p.energy
        self.facility += p.facility
        self.co2 += p.co2
        if p.cost is not None and self.cost is not None:
            self.cost += p.cost
        if p.shares is not self._shares:
            self.shifted = self.shifted or self._shares is not _UNSET
            self.mix = self._mix()
            self._shares, self._facility_at = p.shares, 0.0
        self._facility_at += p.facility
        self.footprint.add(p.footprint)

    def seed(self, s: Seed) -> None:
        """Continue from a re-opened run's totals (see :mod:`greenops_tb.recording.resume`)."""
        self.records, self.duration, self.kwh, self.facility, self.co2 = s.records, s.duration, s.kwh, s.facility, s.co2
        self.by_kind = {k: s.by_kind.get(k, 0.0) for k in self.by_kind}
        if self.cost is not None:
            self.cost = s.cost if s.cost is not None else self.cost
        self.mix = dict(s.mix)
        self.samples, self.tokens = s.samples, s.tokens
        self.footprint = FootprintTotals(*s.footprint, dict(s.embodied_kg_by_device))

    def as_seed(self, next_step: int = 0, epoch: int = -1, by_device: Mapping[str, float] | None = None) -> Seed:
        """These totals to continue from (the inverse of :meth:`seed`)."""
        f = self.footprint
        return Seed(self.records, self.duration, self.kwh, dict(self.by_kind), self.facility, self.co2, self.cost,
                    self._mix(), dict(by_device or {}), next_step, epoch, self.samples, self.tokens,
                    (f.embodied_kg, f.water_onsite_l, f.water_offsite_l), dict(f.embodied_kg_by_device))

    def mix_now(self, facility_now: float) -> dict[str, float]:
        """The record's running mix: ``{}`` while the shares have not changed and this interval's facility energy
        (``facility_now``) carries them (see :class:`~greenops_tb.format.schema.Record`), else facility energy per grid
        source so far, in :data:`~greenops_tb.format.schema.SOURCES` order."""
        if not self.shifted and facility_now > 0:
            return {}
        mix = self._mix()
        return {s: mix[s] for s in SOURCES if s in mix}

    def _mix(self) -> dict[str, float]:
        """Facility energy per grid source so far."""
        mix, at = dict(self.mix), self._facility_at
        for s, share in self._shares.items():
            mix[s] = mix.get(s, 0.0) + at * share
        return mix

    def totals(self, stage: str) -> StageTotals:
        f = self.footprint
        return StageTotals(stage, self.records, self.duration, self.kwh, dict(self.by_kind), self.facility,
                           self.co2, self.cost, self._mix(), self.samples, self.tokens, f.embodied_kg,
                           f.water_onsite_l, f.water_offsite_l, dict(f.embodied_kg_by_device))


class _Priced(NamedTuple):
    """Energy of one interval (IT energy per kind and in all, kWh), what it costs, and the grid's shares."""

    kinds: dict[str, float]
    devices: list[float]  # IT kWh per meter device, in the meter's order
    energy: float
    facility: float
    co2: float
    cost: float | None
    shares: Mapping[str, float]
    footprint: IntervalFootprint  # embodied and water, beside the CO2


@dataclass(slots=True)
class _Stage:
    acc: _Acc
    step: int = 0
    epoch: int = -1
    explicit: bool = False  # start(step=) labelled the open interval
    last: int = -1  # the step of the stage's previous record in its current opening (-1 after start)
    open_at: Reading | None = None
    open_wall: float = 0.0
    samples: int = 0  # work units counted in the open interval, not yet in a record
    tokens: int = 0


class Stages:
    """Open/close stages, read the meter at each boundary, build and emit records."""

    def __init__(
        self,
        meter: MeterLike,
        current_intensity: Callable[[], Intensity],
        pricing: Pricing,
        watches: Watches,
        emit: Callable[[Record, bool], None],
        *,
        seq0: int = 0,
        before_boundary: Callable[[], None] | None = None,
        resumed: Resumed | None = None,
        user_step: Callable[[], int | None] | None = None,
        footprint: Footprint | None = None,
        seal: Callable[[Record], Record] | None = None,
    ) -> None:
        """``resumed``: a re-opened run's totals to go on from (:mod:`resume`); ``seal``: the hash chain's."""
        self._meter = meter
        self._intensity = current_intensity
        self._p = pricing
        self._watches = watches
        self._emit = emit
        self._seq = self._seq0 = seq0
        self._before = before_boundary
        self._user_step = user_step
        self._footprint = footprint
        self._seal = seal
        self._lock = threading.RLock()
        self._closed = ""  # why calls are refused, once closed
        self._stages: dict[str, _Stage] = {}
        self._open: dict[str, _Stage] = {}
        self._run = _Acc(pricing.price_per_kwh is not None)
        self._resume = 0
        if resumed is not None:
            self._resume = resumed.index
            self._run.seed(resumed.run)
            for name, seed in resumed.stages.items():
                acc = _Acc(pricing.price_per_kwh is not None)
                acc.seed(seed)
                self._stages[name] = _Stage(acc, seed.next_step, seed.epoch)
        self._prev: Reading | None = None
        self._last: tuple[Reading | None, _Priced | None] = (None, None)  # previous boundary's interval start, price
        self._intensity_now: Intensity | None = None  # set at every boundary with a stage open
        self._kinds = [d.kind for d in meter.devices]
        self._ids = [d.id for d in meter.devices]
        if resumed is not None and resumed.run.by_device:
            self._run.by_device = [resumed.run.by_device.get(i, 0.0) for i in self._ids]

    # -- public API ---------------------------------------------------------------
    def open_stages(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def start(self, name: str, *, step: int | None = None, epoch: int | None = None) -> None:
        if name not in self._stages:  # names seen before were checked then
            check_name(name)
        step = None if step is None else check_step(step)  # before the boundary: a bad value records nothing
        epoch = None if epoch is None else check_step(epoch, "epoch")
        if self._before is not None:
            self._before()
        with self._lock:
            if self._closed:
                raise RuntimeError(self._closed)
            st = self._stages.get(name)
            if st is not None and st.open_at is not None:
                raise RuntimeError(
                    f"stage {name!r} is already running (open stages: {self._open_list()}); "
                    f"call stop({name!r}) or update({name!r}) instead of start"
                )
            if st is None:
                st = self._stages[name] = _Stage(_Acc(self._p.price_per_kwh is not None))
            reading = self._boundary()
            st.epoch = st.epoch + 1 if epoch is None else epoch
            if step is not None:
                st.step = step
            st.explicit = step is not None
            st.last = -1
            st.open_at = reading
            st.open_wall = reading.t_wall
            self._open[name] = st

    def stop(self, name: str, *, step: int | None = None, samples: int | None = None,
             tokens: int | None = None) -> Record:
        return self._close(name, step, reopen=False, counts=(samples, tokens))

    def update(self, name: str, *, step: int | None = None, samples: int | None = None,
               tokens: int | None = None) -> Record:
        return self._close(name, step, reopen=True, counts=(samples, tokens))

    def count(self, name: str, *, samples: int | None = None, tokens: int | None = None) -> None:
        """Add work units to running stage ``name``'s open interval (they go into its next record)."""
        s, t = check_count(samples, "samples"), check_count(tokens, "tokens")
        with self._lock:
            st = self._running(name, "count for")
            st.samples += s
            st.tokens += t

    def stop_all(self) -> list[Record]:
        with self._lock:
            return [self.stop(name) for name in list(self._open)]

    def close(self, reason: str) -> list[Record]:
        """Stop every open stage (recording it) and refuse every later call with RuntimeError(``reason``), all
        under the lock: a stage another thread opens while this runs is either recorded here or refused."""
        with self._lock:
            records = self.stop_all()
            self._closed = reason
            return records

    def refuse(self, reason: str) -> None:
        """Refuse every later call with RuntimeError(``reason``) without touching the lock (a forked child:
        another thread may have held it at the fork)."""
        self._closed = reason

    def seeds(self) -> tuple[dict[str, Seed], Seed, int]:
        """Every stage's and the run's totals now, to continue from (see :mod:`resume`), and this opening's
        record count."""
        with self._lock:
            stages = {n: s.acc.as_seed(max(s.step, s.last + 1), s.epoch) for n, s in self._stages.items()}
            run = self._run.as_seed(by_device=dict(zip(self._ids, self._run.by_device)))
            return stages, run, self._seq - self._seq0

    def totals(self) -> tuple[dict[str, StageTotals], StageTotals]:
        with self._lock:
            return {n: s.acc.totals(n) for n, s in self._stages.items()}, self._run.totals("total")

    # -- internals ----------------------------------------------------------------
    def _open_list(self) -> str:
        return ", ".join(repr(n) for n in self._open) or "none"

    def _boundary(self) -> Reading:
        """Read the meter; add the energy since the previous boundary to the run if any stage was open."""
        reading = self._meter.read()
        prev = self._prev
        if self._open and prev is not None:
            self._intensity_now = self._intensity()
            priced = self._price(prev, reading, self._intensity_now)
            self._run.add(reading.t_mono - prev.t_mono, priced)
            self._last = (prev, priced)
        self._prev = reading
        return reading

    def _price(self, a: Reading, b: Reading, it: Intensity) -> _Priced:
        kinds = dict.fromkeys(DEVICE_KINDS, 0.0)
        devices = [(jb - ja) / J_PER_KWH for ja, jb in zip(a.joules, b.joules)]
        for kind, kwh in zip(self._kinds, devices):
            kinds[kind] += kwh
        energy = sum(kinds.values())
        facility = energy * self._p.pue
        co2 = co2_kg(facility, it.carbon_intensity_g_per_kwh)
        cost = None if self._p.price_per_kwh is None else facility * self._p.price_per_kwh
        fp = NO_FOOTPRINT if self._footprint is None else \
            self._footprint.interval_at(b.t_mono - a.t_mono, energy, facility, it.mix)
        return _Priced(kinds, devices, energy, facility, co2, cost, it.mix, fp)

    def _running(self, name: str, verb: str) -> _Stage:
        if self._closed:
            raise RuntimeError(self._closed)
        st = self._stages.get(name)
        if st is None or st.open_at is None:
            raise RuntimeError(
                f"cannot {verb} stage {name!r}: it is not running (open stages: {self._open_list()}); "
                f"call start({check_name(name)!r}) first"
            )
        return st

    def _close(self, name: str, step: int | None, reopen: bool,
               counts: tuple[int | None, int | None] = (None, None)) -> Record:
        step = None if step is None else check_step(step)  # before the boundary: a bad value records nothing
        samples, tokens = check_count(counts[0], "samples"), check_count(counts[1], "tokens")
        if self._before is not None:
            self._before()
        with self._lock:
            st = self._running(name, "update" if reopen else "stop")
            st.samples += samples
            st.tokens += tokens
            reading = self._boundary()
            stage_step = st.step if step is None else step
            rec = self._record(name, st, st.open_at, reading, self._axis_step(st, step, stage_step), stage_step)
            st.step = stage_step + 1
            st.explicit = False
            st.last = rec.step
            if reopen:
                st.open_at = reading
                st.open_wall = reading.t_wall
            else:
                st.open_at = None
                del self._open[name]
            self._emit(rec, not reopen)
            return rec

    def _axis_step(self, st: _Stage, step: int | None, stage_step: int) -> int:
        """The record's step on the run's axis (see the module docstring)."""
        if step is not None or st.explicit or self._user_step is None:
            return stage_step
        user = self._user_step()
        return stage_step if user is None else max(user, st.last + 1)

    def _record(self, name: str, st: _Stage, a: Reading, b: Reading, step: int, stage_step: int) -> Record:
        p, it, acc, run = self._p, self._intensity_now, st.acc, self._run
        start, priced = self._last
        if start is not a:  # the stage opened before the previous boundary: price its own interval
            priced = self._price(a, b, it)
        kinds, energy = priced.kinds, priced.energy
        duration = b.t_mono - a.t_mono
        acc.records += 1
        run.records += 1
        acc.add(duration, priced)
        samples, tokens = st.samples, st.tokens
        acc.samples += samples
        acc.tokens += tokens
        st.samples = st.tokens = 0
        prov = self._meter.provenance()
        context = context_between(a, b) or [{} for _ in self._ids]
        devices = {i: DeviceEnergy(k, kwh, pv, c)
                   for i, k, kwh, pv, c in zip(self._ids, self._kinds, priced.devices, prov, context)}
        seq, self._seq = self._seq, self._seq + 1
        rec = Record(  # keywords: a field's place in Record is the schema's business
            run=p.run, stage=name, seq=seq, step=step, epoch=st.epoch, stage_step=stage_step, resume=self._resume,
            start_time=a.t_wall, end_time=b.t_wall, duration_s=duration,
            energy_kwh_gpu=kinds["gpu"], energy_kwh_cpu=kinds["cpu"], energy_kwh_ram=kinds["ram"],
            energy_kwh=energy, facility_energy_kwh=priced.facility, avg_power_w=avg_power_w(energy, duration),
            co2_kg=priced.co2, cost=priced.cost, currency=p.currency, price_source=p.price_source,
            carbon_intensity_g_per_kwh=it.carbon_intensity_g_per_kwh, intensity_source=it.source,
            location=p.location, location_source=p.location_source, pue=p.pue, devices=devices,
            mix_kwh={s: priced.facility * share for s, share in priced.shares.items()}, watched=self._watches.read(name),
            stage_duration_s=acc.duration, stage_energy_kwh=acc.kwh, stage_co2_kg=acc.co2, stage_cost=acc.cost,
            run_duration_s=run.duration, run_energy_kwh=run.kwh, run_co2_kg=run.co2, run_cost=run.cost,
            samples=samples, tokens=tokens, stage_samples=acc.samples, stage_tokens=acc.tokens,
            **record_fields(priced.footprint, acc.footprint, run.footprint),
            run_devices_kwh=dict(zip(self._ids, run.by_device)),
            stage_mix_kwh=acc.mix_now(priced.facility), run_mix_kwh=run.mix_now(priced.facility))
        return rec if self._seal is None else self._seal(rec)  # the hash chain's, before any sink sees it

