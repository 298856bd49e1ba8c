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
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch
from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from torch.utils.tensorboard import SummaryWriter

from greenops_tb import __version__
from greenops_tb.distributed.identity import job_extra
from greenops_tb.footprint import EmbodiedOptions, Footprint
from greenops_tb.footprint.water import check_wue
from greenops_tb.format.schema import Record, RunMetadata
from greenops_tb.format.tags import check_name
from greenops_tb.format.workunits import Efficiency, stage_efficiency
from greenops_tb.grid import resolve_grid
from greenops_tb.meters.base import EnergySource, MeterLike
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S
from greenops_tb.meters.sync import sync_accelerators
from greenops_tb.recording import resume
from greenops_tb.recording.options import RecordOptions, build_csv, build_meter, check_types
from greenops_tb.recording.batch import PendingRecord
from greenops_tb.recording.stages import Pricing, Stages
from greenops_tb.recording.totals import RunTotals, format_summary
from greenops_tb.recording.watch import Watches
from greenops_tb.sinks.base import SinkFanOut
from greenops_tb.sinks.csv import CsvSink
from greenops_tb.sinks.event_file import FastFileWriter
from greenops_tb.sinks.events import EventSink, metadata_summary

if TYPE_CHECKING:
    from greenops_tb.analysis.forecast import Forecast
    from greenops_tb.recording.model_hooks import ModelHooks

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
        self._writer.stop(self._name)


class _UserSteps:
    """The file writer as the user's ``add_*`` calls reach it (``_get_file_writer()``): notes the highest
    ``global_step`` they pass, the records' default step axis; everything else goes to the file writer."""

    __slots__ = ("_fw", "highest")

    def __init__(self, fw: Any) -> None:
        self._fw = fw
        self.highest: int | None = None

    def _note(self, step: Any) -> None:
        if step is not None:
            with contextlib.suppress(TypeError, ValueError):
                s = int(step)
                if self.highest is None or s > self.highest:
                    self.highest = s

    def add_summary(self, summary: Any, global_step: Any = None, walltime: Any = None) -> None:
        self._note(global_step)
        self._fw.add_summary(summary, global_step, walltime)

    def add_event(self, event: Any, step: Any = None, walltime: Any = None) -> None:
        self._note(step)
        self._fw.add_event(event, step, walltime)

    def current(self) -> int | None:
        return self.highest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fw, name)


class GreenSummaryWriter(SummaryWriter):
    """SummaryWriter + energy, CO2, cost and grid mix per stage.

    Green options (keyword-only):
      country / region / cloud: where training runs (else ``GREENOPS_COUNTRY`` etc., else the
        world average with one warning); unknown places raise ``LocationError`` with suggestions.
      pue: data-centre power usage effectiveness, >= 1 (default 1.0).
      embodied_options: ``{"lifetime_years", "utilisation", "gpu_kgco2e", "host_kgco2e", "host_share"}`` (any
        subset) for the embodied emissions (defaults: 6 years, 85 %, the embedded table; see
        :mod:`greenops_tb.footprint.embodied`). Reported beside the CO2, never added into it.
      wue: water usage effectiveness, litres of site water per kWh of IT energy (default: the cloud
        provider's published WUE for ``cloud=``, else unknown). See :mod:`greenops_tb.footprint.water`.
      price_per_kwh, currency: electricity price (default: the grid dataset's, or unknown).
      live, live_options: opt-in live grid provider ("electricitymaps" with a token, "uk-carbon-intensity")
        and its options (see :mod:`greenops_tb.grid.live`); any failure falls back to the embedded data.
      detect_cloud: opt-in cloud metadata detection of the region (short timeout; off by default).
      config_path: a TOML file with a ``[grid]`` table (default ``GREENOPS_CONFIG`` or ~/.config/greenops_tb.toml).
      csv_path: None -> ``<log_dir>/green.csv``; False -> no CSV; a path -> there.
      csv_columns: subset of :data:`greenops_tb.format.columns.BASE_COLUMNS` (required columns always kept).
      hash_chain: add a ``chain_hash`` column (see :mod:`greenops_tb.format.hashchain`).
      watch: ``{name: value}`` to record with every record (see :mod:`greenops_tb.recording.watch`).
      meters: energy sources (default :func:`greenops_tb.meters.select.default_sources`).
      gpus, sysfs_root, sample_interval: passed to the default sources.
      cpu_attribution, gpu_attribution: on shared machines, "process" counts this process's share of the CPU
        socket / GPU instead of the whole device (defaults "socket" / "device"; see
        :func:`greenops_tb.meters.select.default_sources`).
      emit_every: write every Nth ``update()`` record of a stage to the events (``stop()`` always);
        the CSV always gets every record.
      sync_cuda: True (default): wait for queued CUDA (also ROCm) and MPS work at ``start()`` and ``stop()``
        when in use, so GPU work is attributed to the stage that launched it, but not at ``update()``, so a
        per-step ``update()`` never serialises CPU and GPU (a step's queued kernels count in the next step's
        record; the stage total is exact); "steps": at every ``update()`` too (exact per-step attribution,
        at the cost of one synchronisation per step); False: never. See :mod:`greenops_tb.meters.sync`.
      run_name: the run's name in records (default: the log dir's base name).
      step_axis: "user" (default): a record without ``step=`` takes the highest ``global_step`` of your own
        ``add_*`` calls so far, so green scalars line up with yours; "stage": each stage's own count (which
        the CSV's ``stage_step`` column always holds). See :mod:`greenops_tb.recording.stages`.
      distributed, dist_timeout_s, dist_flush_every: job-wide measurement under torch.distributed
        (None = automatic when a multi-rank process group is initialised; create the writer on every
        rank; only rank 0 writes files). See :mod:`greenops_tb.distributed`.
    """

    def __init__(
        self,
        *args: Any,
        country: str | None = None,
        region: str | None = None,
        cloud: str | None = None,
        pue: float = 1.0,
        embodied_options: Mapping[str, Any] | None = None,
        wue: float | None = None,
        price_per_kwh: float | None = None,
        currency: str | None = None,
        live: str | None = None,
        live_options: Mapping[str, Any] | None = None,
        detect_cloud: bool = False,
        config_path: str | os.PathLike[str] | None = None,
        csv_path: str | os.PathLike[str] | bool | None = None,
        csv_columns: Sequence[str] | None = None,
        hash_chain: bool = False,
        watch: Mapping[str, Any] | None = None,
        meters: Sequence[EnergySource] | None = None,
        gpus: list[int] | None = None,
        sysfs_root: str | None = None,
        sample_interval: float = DEFAULT_INTERVAL_S,
        cpu_attribution: str = "socket",
        gpu_attribution: str = "device",
        emit_every: int = 1,
        sync_cuda: bool | str = True,
        run_name: str | None = None,
        step_axis: str = "user",
        distributed: bool | None = None,
        dist_timeout_s: float = 60.0,
        dist_flush_every: int = 1,
        **kwargs: Any,
    ) -> None:
        self._closed = True  # until fully constructed: close() is a no-op
        self._forked = ""  # why calls are refused in a forked child
        sample_interval = check_types(sample_interval=sample_interval, currency=currency, sysfs_root=sysfs_root,
                                      meters=meters, run_name=run_name)
        opts = RecordOptions.checked(pue, emit_every, csv_columns)
        if step_axis not in ("user", "stage"):
            raise ValueError(f"step_axis must be 'user' (your add_scalar global_step) or 'stage', got {step_axis!r}")
        self._step_axis = step_axis
        if sync_cuda not in (True, False, "steps"):
            raise ValueError(f"sync_cuda must be True (synchronise at start/stop), 'steps' (also at every "
                             f"update()) or False, got {sync_cuda!r}")
        self._footprint_options = (EmbodiedOptions.of(embodied_options), check_wue(wue))  # validated before any file
        self._watches = Watches()
        for name, value in (watch or {}).items():
            self._watches.add(name, value)
        from greenops_tb.distributed.job import attach, writes_files

        self._job = attach(distributed, timeout_s=dist_timeout_s, flush_every=dist_flush_every)
        self._writes = writes_files(self._job)
        self._grid = resolve_grid(
            country, region, cloud, price_per_kwh=price_per_kwh, currency=currency, live=live,
            live_options=live_options, detect_cloud=detect_cloud, config_path=config_path,
        )
        given = args[0] if args else kwargs.get("log_dir")
        new_dir = given is None or not os.path.exists(given)
        try:
            super().__init__(*args, **kwargs)
        except OSError as err:
            self._grid.close()
            raise OSError(
                f"cannot create the TensorBoard log dir ({err}); pass a writable log_dir= "
                "(or fix its permissions); nothing was recorded"
            ) from err
        self._csv: CsvSink | None = None
        self._meter: MeterLike | None = None
        try:
            self._build(opts, csv_path, hash_chain, meters, gpus, sysfs_root, sample_interval, run_name, sync_cuda,
                        {"cpu_attribution": cpu_attribution, "gpu_attribution": gpu_attribution})
        except BaseException:
            self._abandon(new_dir)
            raise
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)
        _LIVE.add(self)

    def _build(self, opts: RecordOptions, csv_path: Any, hash_chain: bool, meters: Sequence[EnergySource] | None,
               gpus: list[int] | None, sysfs_root: str | None, sample_interval: float, run_name: str | None,
               sync_cuda: bool | str, attribution: Mapping[str, str]) -> None:
        """Everything after the log dir: CSV, meter, pricing, sinks, stages, run metadata."""
        self._run = run_name or os.path.basename(os.path.normpath(self.log_dir))
        # only rank 0 writes the job's CSV and events
        self._csv = build_csv(self.log_dir, csv_path if self._writes else False, opts.base_columns, hash_chain)
        self._meter, self._host_claim = build_meter(self._job, meters, gpus, sysfs_root, sample_interval, **attribution)
        self._resumed = resume.from_csv(self._csv.path) if self._csv is not None and self._csv.next_seq else None
        self._started_at = time.time()
        profile = self._grid.profile
        self._pricing = Pricing(self._run, opts.pue, profile.price_per_kwh, profile.currency, profile.price_source,
                                profile.zone, profile.location_source)
        embodied, wue = self._footprint_options
        self._footprint = Footprint(self._meter.devices, embodied_options=embodied, wue=wue, cloud=profile.cloud)
        self._cuda_sync = sync_cuda
        self._fw = self._get_file_writer()
        self._user_steps = _UserSteps(self._fw)  # what _get_file_writer() gives the user's add_* calls from now on
        self._events = EventSink(self._fw, opts.emit_every)
        self._sinks = SinkFanOut([self._csv, self._events] if self._csv is not None else [self._events])
        self._stages = Stages(
            self._meter, self._grid.current, self._pricing, self._watches, self._sinks.write,
            seq0=self._csv.next_seq if self._csv else 0, before_boundary=sync_accelerators if sync_cuda else None,
            sync_steps=sync_cuda == "steps", resumed=self._resumed,
            user_step=self._user_steps.current if self._step_axis == "user" else None,
            footprint=self._footprint, written=self._sinks.flush, batched=True,
        )
        self._close_lock = threading.Lock()
        self._fw.add_summary(metadata_summary(self.run_metadata()), 0, time.time())
        self._pid = os.getpid()
        self._closed = False

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
        if self._meter is not None:
            with contextlib.suppress(Exception):
                self._meter.close()
        self._grid.close()
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
        self._expect("start", name)
        self._stages.start(name, step=step, epoch=epoch)

    def stop(self, name: str, *, step: int | None = None, samples: int | None = None,
             tokens: int | None = None) -> Record:
        """Close stage ``name`` and record the interval (with the ``samples``/``tokens`` it processed, if
        given); returns once this record and every earlier one are written to the CSV and event file."""
        self._check_open()
        self._expect("stop", name)
        return self._stages.stop(name, step=step, samples=samples, tokens=tokens)

    def update(self, name: str, step: int | None = None, *, samples: int | None = None,
               tokens: int | None = None) -> PendingRecord:
        """Close the current interval of running stage ``name`` (it processed ``samples``/``tokens``, if
        given), record it, open the next one.

        Only the meter is read here: the record is built and written in the background within ~100 ms
        (see :mod:`greenops_tb.recording.batch`); the returned :class:`PendingRecord` gives its fields
        (building it first if it is still queued)."""
        self._check_open()
        self._expect("update", name)
        return self._stages.update(name, step=step, samples=samples, tokens=tokens)

    def count(self, name: str, *, samples: int | None = None, tokens: int | None = None) -> None:
        """Add work units to running stage ``name``'s current interval (for loops that know the count
        elsewhere); they are recorded at its next ``update``/``stop``."""
        self._check_open()
        self._stages.count(name, samples=samples, tokens=tokens)

    def _expect(self, kind: str, name: str) -> None:
        """Distributed: name the next boundary, so ranks can check they pass the same ones."""
        if self._job is not None:
            self._meter.expect(kind, name)

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
            raise ValueError(
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
        writer is built, the user's ``add_*`` calls get it through :class:`_UserSteps`."""
        steps = getattr(self, "_user_steps", None)
        if steps is not None:
            return steps
        if getattr(self, "_writes", True):
            if "://" in str(self.log_dir) or (self.file_writer is not None and self.all_writers is not None):
                return super()._get_file_writer()
            fw = FastFileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.file_writer, self.all_writers = fw, {fw.get_logdir(): fw}
            if self.purge_step is not None:  # as SummaryWriter._get_file_writer does
                fw.add_event(Event(step=self.purge_step, file_version="brain.Event:2"))
                fw.add_event(Event(step=self.purge_step, session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
            return fw
        if self.file_writer is None:
            from greenops_tb.sinks.null import NullFileWriter

            self.file_writer = NullFileWriter(self.log_dir)
            self.all_writers = {self.log_dir: self.file_writer}
        return self.file_writer

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(self._forked or CLOSED)

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
            if self._job is not None:
                self._meter.closing()  # the stops below are exchanged with the other ranks too
            self._stages.close(CLOSED)  # every stage open now is recorded; any later call is refused
            self._closed = True
        _LIVE.discard(self)
        atexit.unregister(self._atexit)
        try:
            super().close()  # flushes, then closes
        except Exception as err:  # noqa: BLE001 - a failed event file must not keep the CSV and meters open
            self._sinks.report(self._events, err)
        self._sinks.close()  # the event file again (closes a failed one), the CSV
        self._meter.close()
        if self._host_claim is not None:
            self._host_claim.release()
        self._grid.close()
