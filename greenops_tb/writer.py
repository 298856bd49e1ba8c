"""``GreenSummaryWriter``: a ``SummaryWriter`` that also measures stages of training.

Everything of :class:`torch.utils.tensorboard.SummaryWriter` works unchanged;
the green options are keyword-only. Each closed stage interval becomes one
:class:`~greenops_tb.format.schema.Record`, appended to the CSV (``<log_dir>/green.csv``
by default) and written to the event file as ONE event (structured record +
its scalars + watched values). See :mod:`greenops_tb.recording.stages` for the stage,
step, epoch and overlap semantics.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import socket
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import torch
from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from torch.utils.tensorboard import SummaryWriter

from greenops_tb import __version__
from greenops_tb.distributed.identity import job_extra
from greenops_tb.errors import StateError, UsageError
from greenops_tb.footprint import Footprint
from greenops_tb.format.schema import Record, RunMetadata
from greenops_tb.format.tags import check_name, rank_tag_suffix
from greenops_tb.format.workunits import Efficiency, stage_efficiency
from greenops_tb.grid import resolve_grid
from greenops_tb.meters.base import MeterLike
from greenops_tb.meters.sync import sync_accelerators
from greenops_tb.recording import checkpoint, resume
from greenops_tb.recording.batch import PendingRecord
from greenops_tb.recording.builders import build_csv, build_meter
from greenops_tb.recording.options import Measure, Output, Where, WriterOptions, check_timings, writer_options
from greenops_tb.recording.stages import Pricing, Stages
from greenops_tb.recording.totals import RunTotals, format_summary
from greenops_tb.recording.user_steps import UserSteps
from greenops_tb.recording.watch import Watches
from greenops_tb.sinks.base import SinkFanOut
from greenops_tb.sinks.csv import CsvSink
from greenops_tb.sinks import run_lock
from greenops_tb.sinks.event_file import FastFileWriter
from greenops_tb.sinks.events import EventSink, metadata_summary
from greenops_tb.sinks.null import NullFileWriter

if TYPE_CHECKING:
    from greenops_tb.analysis.forecast import Forecast
    from greenops_tb.recording.model_hooks import ModelHooks
    from greenops_tb.sinks.run_lock import RunLock

log = logging.getLogger(__name__)


CLOSED = "the writer is closed (close() was called); create a new GreenSummaryWriter to record more stages"
FORKED = ("this GreenSummaryWriter belongs to process {parent}, and this is a forked child (pid {child}): the "
          "child never writes the parent's files; to measure the child, create its own writer (its own log_dir) "
          "in the child")
#: every open writer, so a forked child can disown them (see :func:`_disown_in_child`)
_LIVE: "weakref.WeakSet[GreenSummaryWriter]" = weakref.WeakSet()


def _close_at_exit(ref: "weakref.ref[GreenSummaryWriter]") -> None:
    writer = ref()
    if writer is not None:
        writer.close()


def _disown_in_child() -> None:
    """After ``fork()``, in the child: every writer inherited from the parent refuses calls and closes nothing,
    so the child (its ``atexit`` too) never writes into the parent's CSV or event file."""
    for writer in list(_LIVE):
        writer._disown()


os.register_at_fork(after_in_child=_disown_in_child)


class _StageScope(contextlib.ContextDecorator):
    """``with writer.stage("eval"):`` or ``@writer.stage("eval")``."""

    def __init__(self, writer: "GreenSummaryWriter", name: str, step: int | None, epoch: int | None) -> None:
        self._writer, self._name, self._step, self._epoch = writer, check_name(name), step, epoch

    def __enter__(self) -> "_StageScope":
        self._writer.start(self._name, step=self._step, epoch=self._epoch)
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer._end(self._name)


class GreenSummaryWriter(SummaryWriter):
    """SummaryWriter + energy, CO2, cost and grid mix per stage.

    Green options are keyword-only, in three groups (:mod:`greenops_tb.recording.options`), passed whole or
    as flat keywords: ``where=Where(...)`` (country, region, cloud, pue, wue, embodied_options,
    price_per_kwh, currency, live, live_options, detect_cloud, config_path); ``output=Output(...)``
    (csv_path, csv_columns, hash_chain, emit_every, run_name, step_axis, watch); ``measure=Measure(...)``
    (meters, gpus, powercap_root (old name sysfs_root), hwmon_root, sample_interval, cpu_attribution,
    gpu_attribution, sync_cuda, distributed). Every other argument is SummaryWriter's. Under torch.distributed
    each rank writes its own shard into the same ``log_dir``; readers show the job (docs/distributed.md).
    """

    file_writer: Any  # SummaryWriter's, None until its first event
    all_writers: Any

    def __init__(self, *args: Any, where: Where | None = None, output: Output | None = None,
                 measure: Measure | None = None, **kwargs: Any) -> None:
        self._closed = True  # until fully constructed: close() is a no-op
        self._forked = ""  # why calls are refused in a forked child
        opts, kwargs = writer_options(kwargs, where=where, output=output, measure=measure)  # before any file
        check_timings(opts.measure.dist_timeout_s, args, kwargs)
        self._watches = Watches()
        for name, value in (opts.output.watch or {}).items():
            self._watches.add(name, value)
        w = opts.where
        from greenops_tb.distributed.shard import attach_writer

        self._job = attach_writer(opts.measure, args, kwargs)  # a rank of a distributed job, or None
        self._writes = self._job is None or self._job.owns_user_events  # the user's own add_* calls
        self._grid = resolve_grid(
            w.country, w.region, w.cloud, price_per_kwh=w.price_per_kwh, currency=w.currency, live=w.live,
            live_options=w.live_options, detect_cloud=w.detect_cloud, config_path=w.config_path,
        )
        given = args[0] if args else kwargs.get("log_dir")
        new_dir = given is None or not os.path.exists(given)
        try:
            super().__init__(*args, **kwargs)
        except OSError as err:
            self._grid.close()
            raise OSError(f"cannot create the TensorBoard log dir ({err}); pass a writable log_dir= "
                          "(or fix its permissions); nothing was recorded") from err
        self._csv: CsvSink | None = None
        self._lock: RunLock | None = None
        try:
            self._build(opts)
        except BaseException:
            self._abandon(new_dir)
            raise
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)
        _LIVE.add(self)

    def _build(self, opts: WriterOptions) -> None:
        """Everything after the log dir: CSV, meter, pricing, sinks, stages, run metadata."""
        out = opts.output
        self._run = out.run_name or os.path.basename(os.path.normpath(self.log_dir))
        csv_path = out.csv_path
        own_csv = os.fspath(csv_path) if isinstance(csv_path, (str, os.PathLike)) else None
        shard = self._job.file_suffix if self._job is not None else ""  # a rank locks its own shard
        self._lock = run_lock.acquire(self.log_dir, self, own_csv, shard)  # one writer per run
        self._csv = build_csv(self.log_dir, opts, self._job)
        self._meter, self._host_claim = build_meter(self._job, opts.measure, log_dir=self.log_dir)
        self._resumed = resume.from_csv(self._csv.path) if self._csv is not None and self._csv.next_seq else None
        self._started_at = time.time()
        profile = self._grid.profile
        self._pricing = Pricing(self._run, float(opts.where.pue), profile.price_per_kwh, profile.currency,
                                profile.price_source, profile.zone, profile.location_source)
        self._footprint = Footprint(self._meter.devices, embodied_options=opts.embodied, wue=opts.wue,
                                    cloud=profile.cloud)
        self._cuda_sync = opts.measure.sync_cuda
        self._fw = self._get_file_writer()
        # what _get_file_writer() gives the user's add_* calls from now on
        self._user_steps = UserSteps(self._fw if self._writes else NullFileWriter(self.log_dir))
        tags = rank_tag_suffix(self._job.rank) if self._job is not None else ""
        self._events = EventSink(self._fw, out.emit_every, tag_suffix=tags)
        chain = None if self._csv is None else self._csv.chain  # seals each record before the sinks
        self._sinks = SinkFanOut([self._csv, self._events] if self._csv is not None else [self._events])
        self._checkpoint_due = checkpoint.Periodic(self._checkpoint)
        self._stages = Stages(
            self._meter, self._grid.current, self._pricing, self._watches, self._sinks.write,
            seq0=self._csv.next_seq if self._csv else 0,
            before_boundary=sync_accelerators if self._cuda_sync else None, resumed=self._resumed,
            user_step=self._user_steps.current if out.step_axis == "user" else None,
            footprint=self._footprint, seal=None if chain is None else chain.seal,
            sync_steps=self._cuda_sync == "steps", written=self._written, batched=True,
        )
        self._close_lock = threading.Lock()
        self._fw.add_summary(metadata_summary(self.run_metadata(), tags), 0, time.time())
        self._pid = os.getpid()
        self._closed = False

    def _written(self) -> None:
        """After each batch the stages build: write it to the files, then checkpoint the totals when due."""
        self._sinks.flush()
        self._checkpoint_due()

    def _checkpoint(self) -> None:
        """Save the totals beside the CSV, so the next opening reads O(1) rows (see :mod:`resume`)."""
        if (csv := self._live_csv()) is not None:
            resume.save_state(csv.path, self._stages.seeds(), self.run_metadata().openings)

    def _abandon(self, new_dir: bool) -> None:
        """Undo a constructor that failed after the log dir: close what was opened (descriptors, the flush
        thread, the meter's sampler, the live grid) and remove the files this constructor created."""
        fw = getattr(self, "file_writer", None)
        with contextlib.suppress(Exception):
            SummaryWriter.close(self)
        if isinstance(fw, FastFileWriter):
            fw.event_writer.discard()
        if self._csv is not None:
            self._csv.discard()
        meter = getattr(self, "_meter", None)
        if meter is not None:
            with contextlib.suppress(Exception):
                meter.close()
        self._grid.close()
        if self._lock is not None:
            self._lock.release()
        if new_dir:
            with contextlib.suppress(OSError):  # only when empty: never anything the user put there
                os.rmdir(self.log_dir)

    def _disown(self) -> None:
        """In a forked child (see :func:`_disown_in_child`): refuse every call, close and write nothing."""
        reason = FORKED.format(parent=self._pid, child=os.getpid())
        self._forked, self._closed = reason, True
        self._stages.refuse(reason)
        if isinstance(self._fw, FastFileWriter):
            self._fw.event_writer.disown(RuntimeError(reason))
        atexit.unregister(self._atexit)

    # -- stages ----------------------------------------------------------------------
    def start(self, name: str, *, step: int | None = None, epoch: int | None = None) -> None:
        """Open stage ``name`` (RuntimeError naming the open stages if it is already running)."""
        self._check_open()
        self._stages.start(name, step=step, epoch=epoch)

    def stop(self, name: str, *, step: int | None = None, samples: int | None = None,
             tokens: int | None = None) -> Record:
        """Close stage ``name`` and record the interval (with the ``samples``/``tokens`` it processed, if
        given); returns once this record and every earlier one are written to the CSV and event file."""
        self._check_open()
        return self._stages.stop(name, step=step, samples=samples, tokens=tokens).record

    def _end(self, name: str) -> None:
        """:meth:`stop` for a scope's end, whose record nobody asks for (so it is never made)."""
        self._check_open()
        self._stages.stop(name)

    def update(self, name: str, step: int | None = None, *, samples: int | None = None,
               tokens: int | None = None) -> PendingRecord:
        """Close the current interval of running stage ``name`` (it processed ``samples``/``tokens``, if
        given), record it, open the next one.

        Only the meter is read here: the record is built and written in the background within ~100 ms
        (see :mod:`greenops_tb.recording.batch`); the returned :class:`PendingRecord` gives its fields
        (building it first if it is still queued)."""
        self._check_open()
        return self._stages.update(name, step=step, samples=samples, tokens=tokens)

    def count(self, name: str, *, samples: int | None = None, tokens: int | None = None) -> None:
        """Add work units to running stage ``name``'s current interval (for loops that know the count
        elsewhere); they are recorded at its next ``update``/``stop``."""
        self._check_open()
        self._stages.count(name, samples=samples, tokens=tokens)

    def stage(self, name: str, *, step: int | None = None, epoch: int | None = None) -> _StageScope:
        """Context manager and decorator: start on enter, stop on exit (also on exceptions)."""
        return _StageScope(self, name, step, epoch)

    def open_stages(self) -> list[str]:
        return self._stages.open_stages()

    # -- watched values -----------------------------------------------------------
    def watch(self, name: str, value: Any, *, stage: str | None = None) -> None:
        """Record ``value`` (see :mod:`greenops_tb.recording.watch`) with every record from now on (only with ``stage``'s
        records, if given)."""
        self._watches.add(name, value, stage)

    def unwatch(self, name: str) -> None:
        self._watches.remove(name)

    # -- results --------------------------------------------------------------------
    def totals(self) -> RunTotals:
        stages, total = self._stages.totals()
        p = self._grid.profile
        return RunTotals(
            run=self._run, stages=stages, total=total, location=p.zone, location_name=p.name,
            location_source=p.location_source, carbon_intensity_g_per_kwh=p.carbon_intensity_g_per_kwh,
            intensity_source=p.intensity_source, mix_shares=dict(p.mix), mix_source=p.mix_source,
            pue=self._pricing.pue, currency=p.currency, price_per_kwh=p.price_per_kwh, price_source=p.price_source,
            devices={d.id: pv for d, pv in zip(self._meter.devices, self._meter.provenance())},
            footprint=self._footprint.metadata(),
        )

    def efficiency(self) -> dict[str, dict[str, Efficiency]]:
        """Per stage, energy and CO2e per counted unit (``sample``/``token``), else per step (interval)."""
        stages, _total = self._stages.totals()
        return {n: stage_efficiency(n, s.energy_kwh, s.co2_kg, {"samples": s.samples, "tokens": s.tokens},
                                    s.records)
                for n, s in stages.items()}

    def summary(self) -> str:
        return format_summary(self.totals())

    def __str__(self) -> str:
        return self.summary()

    def run_metadata(self) -> RunMetadata:
        p = self._grid.profile
        index = self._resumed.index if self._resumed is not None else 0
        provenance = {d.id: pv for d, pv in zip(self._meter.devices, self._meter.provenance())}
        this = {"resume": index, "started_at": self._started_at, "location": p.zone, "devices": provenance}
        return RunMetadata(
            run=self._run, version=__version__, started_at=self._started_at, host=socket.gethostname(),
            devices={d.id: {"kind": d.kind, "name": d.name, "provenance": provenance[d.id]}
                     for d in self._meter.devices},
            location=p.zone, location_name=p.name, location_source=p.location_source, pue=self._pricing.pue,
            carbon_intensity_g_per_kwh=p.carbon_intensity_g_per_kwh, intensity_source=p.intensity_source,
            mix_shares=dict(p.mix), price_per_kwh=p.price_per_kwh, currency=p.currency, price_source=p.price_source,
            dataset={str(k): str(v) for k, v in p.dataset.items()},
            extra=self._job.metadata_extra() if self._job is not None else job_extra(),
            resume=index, openings=[*(self._resumed.openings if self._resumed is not None else []), this],
            footprint=self._footprint.metadata(),
        )

    def forecast(
        self, stage: str, *, total_steps: int | None = None, total_epochs: float | None = None,
        confidence: float = 0.95,
    ) -> "Forecast":
        """Project ``stage``'s energy, CO2, cost and time to a planned total (see :mod:`greenops_tb.analysis.forecast`).

        Uses the stage's completed intervals as recorded in this run's CSV.
        """
        from greenops_tb.analysis.forecast import forecast
        from greenops_tb.readers.csv import read_records

        csv = self._live_csv()
        self._stages.drain()
        if csv is None:
            raise UsageError(
                "forecast() reads the stage's intervals from the run's CSV, which is off (csv_path=False); "
                "use `greenops-tb summary LOGDIR --forecast STAGE --total-steps N` on the event files instead"
            )
        records = [r for r in read_records(csv.path) if r.stage == stage]
        return forecast(records, total_steps, total_epochs, confidence=confidence)

    # -- model hooks ----------------------------------------------------------------
    def watch_model(self, model: torch.nn.Module, stage: str | None = None, *, count_steps: bool = False) -> "ModelHooks":
        """Attribute time and energy of ``model``'s forward and backward passes within ``stage``.

        See :mod:`greenops_tb.recording.model_hooks`; the returned handle's ``remove()`` takes every hook off.
        """
        from greenops_tb.recording.model_hooks import attach

        return attach(self, model, stage, count_steps=count_steps, sync_cuda=bool(self._cuda_sync))

    @property
    def meter(self) -> MeterLike:
        """The meter this writer reads at every stage boundary (devices, provenance, ``read()``)."""
        return self._meter

    @property
    def csv_path(self) -> str | None:
        """The CSV being written; None when it is off or was dropped after a failure."""
        csv = self._live_csv()
        return csv.path if csv is not None else None

    def _live_csv(self) -> CsvSink | None:
        return self._csv if self._csv is not None and self._csv in self._sinks else None

    @property
    def run_name(self) -> str:
        return self._run

    # -- sinks ------------------------------------------------------------------------
    def _get_file_writer(self) -> Any:
        """This writer's FileWriter: a :class:`FastFileWriter` for a local log dir (same files, less
        cost per event, for the user's own ``add_*`` calls too), TensorBoard's own for remote ones
        (``s3://``...); on ranks other than 0 of a distributed job one that writes nothing. Once the
        writer is built, the user's ``add_*`` calls get it through :class:`UserSteps`."""
        steps = getattr(self, "_user_steps", None)
        if steps is not None:
            return steps
        if "://" in str(self.log_dir) or (self.file_writer is not None and self.all_writers is not None):
            return super()._get_file_writer()
        fw = FastFileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
        self.file_writer, self.all_writers = fw, {fw.get_logdir(): fw}
        if self.purge_step is not None:  # as SummaryWriter._get_file_writer does
            fw.add_event(Event(step=self.purge_step, file_version="brain.Event:2"))
            fw.add_event(Event(step=self.purge_step, session_log=SessionLog(status=SessionLog.START)))
            self.purge_step = None
        return fw

    def _check_open(self) -> None:
        if self._closed:
            raise StateError(self._forked or CLOSED)

    # -- lifecycle ------------------------------------------------------------------
    def flush(self) -> None:
        """Write every record so far, and the user's events, to the files; returns once they are written."""
        if not self._closed:
            self._stages.drain()
        super().flush()

    def close(self) -> None:
        """Stop open stages (recording them), flush and close the event file, CSV and meters."""
        if getattr(self, "_closed", True):
            return
        with self._close_lock:
            if self._closed:
                return
            self._stages.close(CLOSED)  # every stage open now is recorded; any later call is refused
            self._closed = True
        _LIVE.discard(self)
        atexit.unregister(self._atexit)
        try:
            super().close()  # flushes, then closes
        except Exception as err:  # noqa: BLE001 - a failed event file must not keep the CSV and meters open
            self._sinks.report(self._events, err)
        self._sinks.close()  # the event file again (closes a failed one), the CSV
        self._checkpoint()
        self._meter.close()
        if self._host_claim is not None:
            self._host_claim.release()
        self._grid.close()
        if self._lock is not None:
            self._lock.release()
