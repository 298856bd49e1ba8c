"""Stage accounting: meter readings at boundaries -> :class:`~greenops_tb.format.schema.Record`.

A stage is a named, repeatable interval (``train``, ``eval``). Semantics:

* ``start(name)`` opens it, ``stop(name)`` closes it and emits a record, ``update(name)`` closes the current
  interval, emits a record and opens the next one at the same instant (loop style).
* Steps: each stage counts its own steps (``stage_step``): every record takes
  the current count, the next interval gets count + 1. A record's ``step`` (its
  place on the run's step axis, the event's step) is, in this order: ``step=`` on
  ``update``/``stop`` (labels the record being closed) or on ``start`` (labels the
  interval being opened), both of which also set the stage's count; else the
  highest ``global_step`` of the user's own ``add_*`` calls so far (``user_step``,
  the writer's default), so records sit on the same axis as the user's scalars and
  never go backwards, but within one opening of the stage at least its previous
  record's step + 1 (TensorBoard keeps one point per tag and step). A ``stop()``
  right after an ``update(step=s)`` extends that record (step ``s``), so the next
  opening's ``update(step=s + 1)`` repeats no step. Else, before any such call or with
  ``step_axis="stage"``, the stage's own count.
* Epochs: each stage counts its own starts: the first ``start`` is epoch 0,
  every later ``start`` adds 1; ``epoch=`` on ``start`` sets it (later starts
  continue from there).
* Overlap: every open stage sees all the energy spent while it was open (a
  nested ``forward`` inside ``train`` is counted in both). The run ``total``
  counts every joule once: at each boundary the energy since the previous
  boundary is added iff at least one stage was open in between (the union of
  open intervals). Idle time between stages is not counted.
* Threads: bookkeeping and meter reads under one lock, each boundary queued as one tuple; records built
  from the queue under a second lock, off the caller's path (:mod:`greenops_tb.recording.batch`), in seq order.
"""
from __future__ import annotations

import functools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from greenops_tb.footprint import Footprint
from greenops_tb.format.forms import MAPS, SCALARS, TEXTS, Form, form_of
from greenops_tb.format.tags import check_name
from greenops_tb.format.text import RecordText
from greenops_tb.format.units import avg_power_w
from greenops_tb.format.workunits import check_count
from greenops_tb.grid.types import Intensity
from greenops_tb.meters.base import MeterLike, Reading, context_between
from greenops_tb.recording.accounts import Acc, Priced, price
from greenops_tb.recording.batch import DRAIN_AGE_S, Batcher, PendingRecord
from greenops_tb.recording.resume import Resumed, Seed
from greenops_tb.recording.steps import check_step
from greenops_tb.recording.totals import StageTotals
from greenops_tb.recording.watch import Watches

#: Queued boundaries beyond which the caller builds them itself (a loop that updates faster than records
#: are built: memory and the crash window stay bounded).
MAX_QUEUED = 1024
#: The background thread hands the GIL back after building for this long...
PACE_S = 0.0005
#: ...by sleeping this long: a thread waiting for the GIL (the training loop between two torch ops) gets it
#: for sure (``sleep(0)`` often takes it straight back before the waiting thread wakes)
YIELD_S = 0.0001
#: the background thread leaves a stage's latest ``update()`` this long for a ``stop()`` to extend (inside the
#: crash window: it is built at the thread's next wake, :data:`~greenops_tb.recording.batch.WINDOW_S` later)
HOLD_S = 0.04
#: The order :meth:`Stages._record` makes a record's numbers and texts in, and its forms' mappings: Record's own
#: (see :mod:`greenops_tb.format.forms`), or import fails.
_NUMBER_ORDER = (
    "seq", "step", "epoch", "start_time", "end_time", "duration_s", "energy_kwh_gpu", "energy_kwh_cpu",
    "energy_kwh_ram", "energy_kwh", "facility_energy_kwh", "avg_power_w", "co2_kg", "cost",
    "carbon_intensity_g_per_kwh", "pue", "stage_duration_s", "stage_energy_kwh", "stage_co2_kg", "stage_cost",
    "run_duration_s", "run_energy_kwh", "run_co2_kg", "run_cost", "resume", "samples", "tokens", "stage_samples",
    "stage_tokens", "embodied_kg", "water_onsite_l", "water_offsite_l", "stage_embodied_kg", "stage_water_onsite_l",
    "stage_water_offsite_l", "run_embodied_kg", "run_water_onsite_l", "run_water_offsite_l", "stage_step",
)
_MAP_ORDER = ("mix_kwh", "watched", "embodied_kg_by_device", "run_devices_kwh", "stage_mix_kwh", "run_mix_kwh")
_TEXT_ORDER = ("run", "stage", "currency", "price_source", "intensity_source", "location", "location_source")
if (_NUMBER_ORDER, _MAP_ORDER, _TEXT_ORDER) != (SCALARS, MAPS, TEXTS):
    raise TypeError(f"Stages._record makes a record's numbers, mappings or texts in another order than Record "
                    f"declares them ({_NUMBER_ORDER, _MAP_ORDER, _TEXT_ORDER} != {SCALARS, MAPS, TEXTS}): make "
                    "them in Record's order (recording/stages.py)")
#: Forms a stage builder remembers (then it starts afresh)
MAX_FORMS = 64


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


@dataclass(slots=True)
class _Stage:
    acc: Acc
    step: int = 0
    epoch: int = -1
    explicit: bool = False  # start(step=) labelled the open interval
    last: int = -1  # the step of the stage's previous record in its current opening (-1 after start)
    labelled: bool = False  # the user gave the step of the stage's previous record (update(step=))
    open_at: Reading | None = None
    samples: int = 0  # work units counted in the open interval, not yet in a record
    tokens: int = 0


class Stages:
    """Open/close stages, read the meter at each boundary, build and emit records.

    The caller's part of a boundary (under ``_lock``) reads the meter, numbers the record and queues one
    tuple; :meth:`drain` (under ``_build_lock``, on the :class:`~greenops_tb.recording.batch.Batcher`'s thread
    when ``batched``, else at once) prices the intervals, builds the records in ``seq`` order, emits them and
    calls ``written`` (the sinks' flush).
    """

    def __init__(
        self,
        meter: MeterLike,
        current_intensity: Callable[[], Intensity],
        pricing: Pricing,
        watches: Watches,
        emit: Callable[[RecordText, bool], None],
        *,
        seq0: int = 0,
        before_boundary: Callable[[], None] | None = None,
        sync_steps: bool = False,
        resumed: Resumed | None = None,
        user_step: Callable[[], int | None] | None = None,
        footprint: Footprint | None = None,
        written: Callable[[], None] | None = None,
        batched: bool = False,
        seal: Callable[[RecordText], RecordText] | None = None,
    ) -> None:
        """``resumed``: a re-opened run's counters and running totals to continue from (see :mod:`resume`).
        ``before_boundary`` (the accelerator sync) runs before ``start``/``stop`` boundaries, and before
        ``update`` ones only with ``sync_steps``. ``written``: called after each batch is written (every queued
        record built); ``seal``: the hash chain's, applied to each record before any sink sees it."""
        self._meter = meter
        self._intensity = current_intensity
        self._p = pricing
        self._watches = watches
        self._emit = emit
        self._written = written
        self._seq = seq0
        self._before = before_boundary
        self._before_step = before_boundary if sync_steps else None
        self._user_step = user_step
        self._footprint = footprint
        self._seal = seal
        self._lock = threading.RLock()
        self._build_lock = threading.Lock()
        self._queue: deque[tuple] = deque()  # boundaries not yet built, in order
        self._batcher = Batcher(functools.partial(self.drain, pace=True)) if batched else None
        self._closed = ""  # why calls are refused, once closed
        self._stages: dict[str, _Stage] = {}
        self._open: dict[str, _Stage] = {}
        self._run = Acc(pricing.price_per_kwh is not None)
        self._resume = 0
        if resumed is not None:
            self._resume = resumed.index
            self._run.seed(resumed.run)
            for name, seed in resumed.stages.items():
                acc = Acc(pricing.price_per_kwh is not None)
                acc.seed(seed)
                self._stages[name] = _Stage(acc, seed.next_step, seed.epoch)
        self._prev: Reading | None = None  # the previous boundary's reading (builder's)
        self._last: tuple[Reading | None, Priced | None] = (None, None)  # previous boundary's interval start, price
        self._intensity_now: Intensity | None = None  # set at every boundary with a stage open
        self._kinds = [d.kind for d in meter.devices]
        self._ids = [d.id for d in meter.devices]
        if resumed is not None and resumed.run.by_device:
            self._run.by_device = [resumed.run.by_device.get(i, 0.0) for i in self._ids]
        self._records0 = self._run.records  # records of earlier openings (see seeds)
        self._forms: dict[tuple, tuple[Intensity, Mapping[str, float], Form]] = {}  # see _form

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
                st = self._stages[name] = _Stage(Acc(self._p.price_per_kwh is not None))
            reading = self._meter.read()
            self._queue.append((reading, bool(self._open), self._intensity(), None))
            st.epoch = st.epoch + 1 if epoch is None else epoch
            if step is not None:
                st.step = step
            st.explicit = step is not None
            st.last = -1
            st.open_at = reading
            self._open[name] = st
        self._queued(time.perf_counter())

    def stop(self, name: str, *, step: int | None = None, samples: int | None = None,
             tokens: int | None = None) -> PendingRecord:
        """Close stage ``name``; returns once its record (and every earlier one) is written. The returned
        :class:`~greenops_tb.recording.batch.PendingRecord` makes the Record when asked for."""
        pending = self._close(name, step, False, samples, tokens)
        self.drain()
        return pending

    def update(self, name: str, *, step: int | None = None, samples: int | None = None,
               tokens: int | None = None) -> PendingRecord:
        """Close the current interval and open the next; its record is built off this thread (see
        :class:`~greenops_tb.recording.batch.PendingRecord`)."""
        pending = self._close(name, step, True, samples, tokens)
        self._queued(time.perf_counter())
        return pending

    def count(self, name: str, *, samples: int | None = None, tokens: int | None = None) -> None:
        """Add work units to running stage ``name``'s open interval (they go into its next record)."""
        s, t = check_count(samples, "samples"), check_count(tokens, "tokens")
        with self._lock:
            st = self._running(name, "count for")
            st.samples += s
            st.tokens += t

    def stop_all(self) -> list[PendingRecord]:
        with self._lock:
            return [self.stop(name) for name in list(self._open)]

    def close(self, reason: str) -> list[PendingRecord]:
        """Stop every open stage (recording it) and refuse every later call with RuntimeError(``reason``), all
        under the lock: a stage another thread opens while this runs is either recorded here or refused.
        Returns once every record is written."""
        with self._lock:
            records = self.stop_all()
            self._closed = reason
        if self._batcher is not None:
            self._batcher.close()
        self.drain()
        return records

    def refuse(self, reason: str) -> None:
        """Refuse every later call with RuntimeError(``reason``) without touching the locks (a forked child:
        another thread may have held them at the fork); the queued records are the parent's to write."""
        self._closed = reason
        self._queue = deque()
        self._batcher = None

    def seeds(self) -> tuple[dict[str, Seed], Seed, int]:
        """Every stage's and the run's totals as built so far, to continue from (see :mod:`resume`), and this
        opening's records built; the writer's checkpoint calls it from ``written``, when every record built is
        written."""
        stages = {n: s.acc.as_seed(max(s.step, s.last + 1), s.epoch) for n, s in list(self._stages.items())}
        run = self._run.as_seed(by_device=dict(zip(self._ids, self._run.by_device)))
        return stages, run, self._run.records - self._records0

    def totals(self) -> tuple[dict[str, StageTotals], StageTotals]:
        """Running totals including every record so far (queued ones are built first)."""
        with self._lock:
            stages = list(self._stages.items())
        self.drain()
        with self._build_lock:
            return {n: s.acc.totals(n) for n, s in stages}, self._run.totals("total")

    def drain(self, pace: bool = False) -> None:
        """Build, emit and write every queued record, in order; returns once the sinks have them. ``pace`` (the
        background thread): hand the GIL back every :data:`PACE_S`, so the training thread never waits long."""
        with self._build_lock:
            queue = self._queue
            if not queue:
                return
            clock = time.perf_counter
            handed = clock()
            while queue:
                if pace and self._batcher is not None and len(queue) == 1 and self._held(queue[0]):
                    self._batcher.notify()  # built at the next wake, within the crash window
                    break
                self._build(queue.popleft())
                if pace and clock() - handed > PACE_S:
                    time.sleep(YIELD_S)
                    handed = clock()
            if self._written is not None:
                self._written()

    @staticmethod
    def _held(entry: tuple) -> bool:
        """The background thread leaves the last queued entry for later while it is an ``update()`` younger than
        :data:`HOLD_S`: a ``stop()`` right after may still extend it (see :meth:`_extend_last_update`)."""
        closed = entry[3]
        return closed is not None and not closed[-2] and time.perf_counter() - entry[0].t_mono < HOLD_S

    # -- internals: the caller's part ---------------------------------------------------
    def _queued(self, now: float) -> None:
        """After queueing at ``now``: the caller builds what is queued itself when the background thread falls
        behind (the oldest entry older than :data:`DRAIN_AGE_S`, or :data:`MAX_QUEUED` entries), so the crash
        window and memory stay bounded whatever the thread scheduling."""
        queue = self._queue
        try:
            late = len(queue) >= MAX_QUEUED or now - queue[0][0].t_mono > DRAIN_AGE_S
        except IndexError:  # built meanwhile
            late = False
        if self._batcher is None or late:
            self.drain()
        else:
            self._batcher.notify()

    def _open_list(self) -> str:
        return ", ".join(repr(n) for n in self._open) or "none"

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

    def _close(self, name: str, step: int | None, reopen: bool, samples: int | None,
               tokens: int | None) -> PendingRecord:
        if step is not None:  # before the boundary: a bad value records nothing
            step = check_step(step)
        if samples is not None or tokens is not None:
            samples, tokens = check_count(samples, "samples"), check_count(tokens, "tokens")
        before = self._before_step if reopen else self._before
        if before is not None:
            before()
        with self._lock:
            st = self._running(name, "update" if reopen else "stop")
            if not reopen and step is None and samples is None and tokens is None:
                tail = self._extend_last_update(name, st)
                if tail is not None:
                    return tail
            reading = self._meter.read()
            stage_step = st.step if step is None else step
            axis = self._axis_step(st, step, stage_step)
            pending = PendingRecord(self.drain)
            seq = self._seq
            self._seq = seq + 1
            self._queue.append((reading, True, self._intensity(), (
                name, st, st.open_at, seq, axis, stage_step, st.epoch, st.samples + (samples or 0),
                st.tokens + (tokens or 0), self._watches.read(name), self._meter.provenance(), not reopen, pending)))
            st.samples = st.tokens = 0
            st.step = stage_step + 1
            st.explicit, st.last, st.labelled = False, axis, step is not None
            if reopen:
                st.open_at = reading
            else:
                st.open_at = None
                del self._open[name]
            return pending

    def _extend_last_update(self, name: str, st: _Stage) -> PendingRecord | None:
        """A ``stop()`` right after the stage's ``update(step=...)`` (the user labels the steps; nothing else recorded
        since, nothing counted, no ``step=`` on the stop) closes no interval of its own: that update's record, still
        queued, is extended to now and becomes the stage's closing record. So an epoch loop of ``update(step=...)``
        ends each opening on its last step, and the next opening's first step is the user's to label (a stage
        never repeats a step). Without the user's labels the stop keeps its own record, one step later.
        None when the update's record is built already (it is held back :data:`HOLD_S` for this)."""
        if st.samples or st.tokens or not st.labelled:
            return None
        with self._build_lock:
            last = self._queue[-1] if self._queue else None
            closed = None if last is None else last[3]
            if closed is None or closed[0] != name or closed[-2]:
                return None
            reading = self._meter.read()
            self._queue[-1] = (reading, True, self._intensity(), (*closed[:-2], True, closed[-1]))
        st.open_at = None
        del self._open[name]
        return closed[-1]

    def _axis_step(self, st: _Stage, step: int | None, stage_step: int) -> int:
        """The record's step on the run's axis (see the module docstring)."""
        if step is not None or st.explicit or self._user_step is None:
            return stage_step
        user = self._user_step()
        return stage_step if user is None else max(user, st.last + 1)

    # -- internals: the builder's part (under _build_lock) --------------------------------
    def _build(self, entry: tuple) -> None:
        """One queued boundary: add the energy since the previous boundary to the run if any stage was open;
        build and emit the record it closed, if any."""
        reading, was_open, intensity, closed = entry
        prev = self._prev
        if was_open and prev is not None:
            self._intensity_now = intensity
            priced = self._price(prev, reading, intensity)
            self._run.add(reading.t_mono - prev.t_mono, priced)
            self._last = (prev, priced)
        self._prev = reading
        if closed is not None:
            text = self._record(reading, *closed[:-2])
            closed[-1].text = text
            self._emit(text, closed[-2])

    def _form(self, name: str, it: Intensity, shares: Mapping[str, float], prov: tuple[str, ...],
              watched: dict[str, float], embodied: dict[str, float], stage_mix: dict[str, float],
              run_mix: dict[str, float], context: Sequence[Mapping[str, float]] | None) -> Form:
        """The compiled form of this stage's record: the last one made for the same texts, keys and sources, or
        a new one (see :mod:`greenops_tb.format.forms`)."""
        ctx = None if context is None else tuple(map(tuple, context))
        keys = (tuple(watched), tuple(embodied), tuple(stage_mix), tuple(run_mix))
        key = (name, id(it), id(shares), prov, keys, ctx)
        hit = self._forms.get(key)
        if hit is not None and hit[0] is it and hit[1] is shares:
            return hit[2]
        p = self._p
        watched_keys, embodied_keys, stage_keys, run_keys = keys
        form = form_of((
            (p.run, name, p.currency, p.price_source, it.source, p.location, p.location_source),  # _TEXT_ORDER
            (tuple(shares), watched_keys, embodied_keys, tuple(self._ids), stage_keys, run_keys),  # _MAP_ORDER
            tuple(zip(self._ids, self._kinds, prov, ctx or ((),) * len(self._ids))),
        ))
        if len(self._forms) >= MAX_FORMS:  # a live grid's intensity is a new object every few minutes
            self._forms.clear()
        self._forms[key] = (it, shares, form)
        return form

    def _price(self, a: Reading, b: Reading, it: Intensity) -> Priced:
        return price(a, b, it, self._kinds, self._p.pue, self._p.price_per_kwh, self._footprint)

    def _record(self, b: Reading, name: str, st: _Stage, a: Reading, seq: int, step: int, stage_step: int,
                epoch: int, samples: int, tokens: int, watched: dict[str, float], prov: tuple[str, ...]) -> RecordText:
        p, it, acc, run = self._p, self._intensity_now, st.acc, self._run
        assert it is not None  # set by the boundary that closed this interval (a stage was open)
        start, last = self._last
        # the stage opened before the previous boundary: price its own interval
        priced = last if start is a and last is not None else self._price(a, b, it)
        kinds, energy = priced.kinds, priced.energy
        duration = b.t_mono - a.t_mono
        acc.records += 1
        run.records += 1
        acc.add(duration, priced)
        acc.samples += samples
        acc.tokens += tokens
        facility, context = priced.facility, context_between(a, b)
        fp, sf, rf = priced.footprint, acc.footprint, run.footprint  # the interval's, the stage's, the run's
        stage_mix, run_mix = acc.mix_now(facility), run.mix_now(facility)
        nums = [  # the scalar fields, in _NUMBER_ORDER (Record's, checked at import)
            seq, step, epoch, a.t_wall, b.t_wall, duration, kinds["gpu"], kinds["cpu"], kinds["ram"], energy,
            facility, avg_power_w(energy, duration), priced.co2, priced.cost, it.carbon_intensity_g_per_kwh, p.pue,
            acc.duration, acc.kwh, acc.co2, acc.cost, run.duration, run.kwh, run.co2, run.cost,
            self._resume, samples, tokens, acc.samples, acc.tokens, fp.embodied_kg, fp.water_onsite_l,
            fp.water_offsite_l, sf.embodied_kg, sf.water_onsite_l, sf.water_offsite_l, rf.embodied_kg,
            rf.water_onsite_l, rf.water_offsite_l, stage_step,
        ]
        # then the mappings' values, in _MAP_ORDER, then each device's energy and context
        nums += [facility * share for share in priced.shares.values()]
        nums += watched.values()
        nums += fp.embodied_kg_by_device.values()
        nums += run.by_device
        nums += stage_mix.values()
        nums += run_mix.values()
        if context is None:
            nums += priced.devices
        else:
            for kwh, c in zip(priced.devices, context):
                nums.append(kwh)
                nums += c.values()
        form = self._form(name, it, priced.shares, prov, watched, fp.embodied_kg_by_device, stage_mix, run_mix,
                          context)
        text = RecordText.of_numbers(form, nums)
        return text if self._seal is None else self._seal(text)  # the hash chain's, before any sink sees it
