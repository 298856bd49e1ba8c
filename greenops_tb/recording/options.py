"""GreenSummaryWriter's options, grouped as users think of them, and checked in one place.

Three small frozen groups: :class:`Where` (the place, the data centre, prices, live grid data), :class:`Output`
(what is written) and :class:`Measure` (how energy is measured). Pass a group whole
(``GreenSummaryWriter(where=Where(country="DE"))``) or its fields as flat keywords (``country="DE"``); giving
one option both ways is a :class:`~greenops_tb.errors.UsageError`. :func:`writer_options` checks them all
before anything is created; bad values raise an error that names the option and says what to pass.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from greenops_tb.errors import UsageError, UsageTypeError
from greenops_tb.footprint import EmbodiedOptions
from greenops_tb.footprint.water import check_wue
from greenops_tb.meters.base import EnergySource
from greenops_tb.meters.sampler import DEFAULT_INTERVAL_S
from greenops_tb.meters.visible_devices import GpusOption
from greenops_tb.sinks.csv import choose_columns

#: the shortest sampling interval: below it the sampler thread would cost training real CPU time
MIN_SAMPLE_INTERVAL_S = 0.01
STEP_AXES = ("user", "stage")
#: old flat keyword -> its current name
ALIASES = {"sysfs_root": "powercap_root"}


@dataclass(frozen=True, slots=True)
class Where:
    """Where the energy is used: the place, the data centre and its hardware, electricity prices.

    country / region / cloud: the place (else ``GREENOPS_COUNTRY`` etc., else the world average with one
      warning); unknown places raise ``LocationError`` with suggestions.
    pue: data-centre power usage effectiveness, >= 1 (1.0: no overhead).
    wue: litres of site water per kWh of IT energy (default: the cloud provider's published WUE for
      ``cloud=``, else unknown; :mod:`greenops_tb.footprint.water`).
    embodied_options: ``{"lifetime_years", "utilisation", "gpu_kgco2e", "host_kgco2e", "host_share"}`` (any
      subset) for the embodied emissions, reported beside the CO2e (:mod:`greenops_tb.footprint.embodied`).
    price_per_kwh, currency: electricity price (default: the grid dataset's, or unknown).
    live, live_options: opt-in live grid provider ("electricitymaps" with a token, "uk-carbon-intensity") and
      its options (:mod:`greenops_tb.grid.live`); any failure falls back to the embedded data.
    detect_cloud: opt-in cloud metadata detection of the region (short timeout).
    config_path: a TOML file with a ``[grid]`` table (default ``GREENOPS_CONFIG`` or ~/.config/greenops_tb.toml).
    """

    country: str | None = None
    region: str | None = None
    cloud: str | None = None
    pue: float = 1.0
    wue: float | None = None
    embodied_options: Mapping[str, Any] | EmbodiedOptions | None = None
    price_per_kwh: float | None = None
    currency: str | None = None
    live: str | None = None
    live_options: Mapping[str, Any] | None = None
    detect_cloud: bool = False
    config_path: str | os.PathLike[str] | None = None


@dataclass(frozen=True, slots=True)
class Output:
    """What the writer writes.

    csv_path: None: ``<log_dir>/green.csv``; False: no CSV; a path: there.
    csv_columns: subset of :data:`greenops_tb.format.columns.BASE_COLUMNS` (required columns always kept).
    hash_chain: add a ``chain_hash`` column (:mod:`greenops_tb.format.hashchain`).
    emit_every: write every Nth ``update()`` record of a stage to the events (``stop()`` always); the CSV
      gets every record.
    run_name: the run's name in records (default: the log dir's base name).
    step_axis: "user": a record without ``step=`` takes the highest ``global_step`` of your own ``add_*``
      calls so far; "stage": each stage's own count (:mod:`greenops_tb.recording.stages`).
    watch: ``{name: value}`` to record with every record (:mod:`greenops_tb.recording.watch`).
    """

    csv_path: str | os.PathLike[str] | bool | None = None
    csv_columns: Sequence[str] | None = None
    hash_chain: bool = False
    emit_every: int = 1
    run_name: str | None = None
    step_axis: str = "user"
    watch: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """How energy is measured.

    meters: energy sources (default :func:`greenops_tb.meters.select.default_sources`).
    gpus: which visible GPUs the default sources measure (None/"all", "none"/[], indices or UUIDs).
    powercap_root: the powercap directory of RAPL (default /sys/class/powercap or ``$GREENOPS_POWERCAP_ROOT``;
      a sysfs root such as ``/sys`` is understood); ``sysfs_root=`` is its old name.
    hwmon_root: the hwmon directory (default ``$GREENOPS_HWMON_ROOT``, else ``hwmon`` next to the powercap one).
    sample_interval: seconds between power samples of sources that only know power.
    cpu_attribution, gpu_attribution: "process" counts this process's share of the CPU socket / GPU
      instead of the whole device (defaults "socket" / "device").
    sync_cuda: True: wait for queued CUDA (also ROCm) and MPS work at ``start()`` and ``stop()``, so GPU work is
      attributed to the stage that launched it, but not at ``update()``, so a per-step ``update()`` never
      serialises CPU and GPU (a step's queued kernels count in the next step's record; the stage total is
      exact); "steps": at every ``update()`` too (exact per-step attribution, one synchronisation per step);
      False: never (:mod:`greenops_tb.meters.sync`).
    distributed, dist_timeout_s, dist_flush_every: job-wide measurement under torch.distributed (None:
      automatic when a multi-rank process group is initialised; only rank 0 writes files).
    """

    meters: Sequence[EnergySource] | None = None
    gpus: GpusOption = None
    powercap_root: str | os.PathLike[str] | None = None
    hwmon_root: str | os.PathLike[str] | None = None
    sample_interval: float = DEFAULT_INTERVAL_S
    cpu_attribution: str = "socket"
    gpu_attribution: str = "device"
    sync_cuda: bool | str = True
    distributed: bool | None = None
    dist_timeout_s: float = 60.0
    dist_flush_every: int = 1


GROUPS: dict[str, type] = {"where": Where, "output": Output, "measure": Measure}


@dataclass(frozen=True, slots=True)
class WriterOptions:
    """Every green option of a writer, checked; ``base_columns``, ``embodied`` and ``wue`` in their checked form."""

    where: Where
    output: Output
    measure: Measure
    base_columns: list[str]  # the CSV's base columns, in schema order
    embodied: EmbodiedOptions
    wue: float | None


def writer_options(kwargs: dict[str, Any], **groups: Any) -> tuple[WriterOptions, dict[str, Any]]:
    """The green options of a writer's keywords (flat ones from ``kwargs``, whole groups from ``groups``), checked,
    and the keywords left for ``SummaryWriter``."""
    rest = dict(kwargs)
    built = {}
    for key, cls in GROUPS.items():
        group = groups.get(key)
        if group is not None and not isinstance(group, cls):
            raise UsageTypeError(f"{key}= must be a greenops_tb.{cls.__name__}(...), got {group!r}")
        built[key] = _merge(group or cls(), rest)
    where, output, measure = built["where"], built["output"], built["measure"]
    said = {new: old for old, new in ALIASES.items() if old in kwargs}  # errors name the keyword the user wrote
    _check(where, output, measure, said)
    opts = WriterOptions(where, output, measure, choose_columns(output.csv_columns),
                         _embodied(where.embodied_options), check_wue(where.wue))
    return opts, rest


def _merge(group: Any, flat: dict[str, Any]) -> Any:
    """``group`` with the flat keywords of its fields taken out of ``flat``; UsageError for one given both ways."""
    for old, new in ALIASES.items():
        if old in flat and any(f.name == new for f in dataclasses.fields(group)):
            if new in flat:
                raise UsageError(f"{old}= is the old name of {new}=; pass only {new}=")
            flat[new] = flat.pop(old)
    changes = {}
    for f in dataclasses.fields(group):
        if f.name not in flat:
            continue
        value = flat.pop(f.name)
        if getattr(group, f.name) == f.default:
            changes[f.name] = value
        elif value != f.default:  # a flat keyword left at its default does not override the group
            kind = type(group).__name__
            raise UsageError(f"{f.name} is given twice: as {f.name}= and in {kind.lower()}={kind}(...); "
                             f"pass it once")
    return dataclasses.replace(group, **changes) if changes else group


def _embodied(value: Mapping[str, Any] | EmbodiedOptions | None) -> EmbodiedOptions:
    return value if isinstance(value, EmbodiedOptions) else EmbodiedOptions.of(value)


def _check(where: Where, output: Output, measure: Measure, said: Mapping[str, str]) -> None:
    """Check the options that are easy to pass wrongly, before anything is created."""
    pue, emit_every, interval = where.pue, output.emit_every, measure.sample_interval
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) \
            or not MIN_SAMPLE_INTERVAL_S <= interval < math.inf:
        raise UsageError(f"sample_interval must be a finite number of seconds >= {MIN_SAMPLE_INTERVAL_S:g} "
                         f"(default 0.1), got {interval!r}")
    if where.currency is not None and not isinstance(where.currency, str):
        raise UsageTypeError(f"currency must be an ISO 4217 code such as 'EUR' (a str), got {where.currency!r}")
    for name in ("powercap_root", "hwmon_root"):
        _check_dir(said.get(name, name), getattr(measure, name))
    if output.run_name is not None and (not isinstance(output.run_name, str) or not output.run_name):
        raise UsageTypeError(f"run_name must be a non-empty string (default: the log dir's name), "
                             f"got {output.run_name!r}")
    _check_meters(measure.meters)
    if isinstance(pue, bool) or not isinstance(pue, (int, float)) or not 1.0 <= pue < math.inf:
        raise UsageError(f"pue must be a finite number >= 1 (1.0 = no data-centre overhead; typical clouds 1.1-1.6), "
                         f"got {pue!r}")
    if isinstance(emit_every, bool) or not isinstance(emit_every, int) or emit_every < 1:
        raise UsageError(f"emit_every must be an int >= 1 (1 = every record), got {emit_every!r}")
    if measure.sync_cuda not in (True, False, "steps"):
        raise UsageError(f"sync_cuda must be True (synchronise at start/stop), 'steps' (also at every update()) "
                         f"or False, got {measure.sync_cuda!r}")
    if output.step_axis not in STEP_AXES:
        raise UsageError(f"step_axis must be 'user' (your add_scalar global_step) or 'stage', "
                         f"got {output.step_axis!r}")


def _check_dir(name: str, path: object) -> None:
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)):
        raise UsageTypeError(f"{name} must be a directory path (str or os.PathLike) such as '/sys/class/powercap', "
                             f"got {path!r}")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{name}={os.fspath(path)!r} is a file, not a directory: pass the directory (e.g. "
                         f"'/sys/class/{'hwmon' if name == 'hwmon_root' else 'powercap'}', or the sysfs root '/sys')")


def _check_meters(meters: object) -> None:
    if meters is None:
        return
    if isinstance(meters, (str, bytes, EnergySource)) or not isinstance(meters, Sequence):
        raise UsageTypeError(f"meters must be a list of EnergySource objects (greenops_tb.meters), got {meters!r}")
    bad = [(i, m) for i, m in enumerate(meters) if not isinstance(m, EnergySource)]
    if bad:
        raise UsageTypeError(f"meters[{bad[0][0]}] is {bad[0][1]!r}, not an EnergySource: pass sources such as "
                             "ConstantPowerSource({'cpu:0': 65.0}) or leave meters=None for this machine's own")


def check_timings(dist_timeout_s: object, args: Sequence[object], kwargs: Mapping[str, object]) -> None:
    """UsageError naming the option unless ``dist_timeout_s`` is a finite number of seconds > 0 and
    SummaryWriter's ``flush_secs`` (in its ``args`` or ``kwargs``) a number of seconds >= 0."""
    flush_secs = kwargs.get("flush_secs", args[4] if len(args) > 4 else 120)  # SummaryWriter's 5th, default 120
    if isinstance(dist_timeout_s, bool) or not isinstance(dist_timeout_s, (int, float)) \
            or not 0 < dist_timeout_s < math.inf:
        raise UsageError(f"dist_timeout_s must be a finite number of seconds > 0 (default 60), got {dist_timeout_s!r}")
    if isinstance(flush_secs, bool) or not isinstance(flush_secs, (int, float)) or not flush_secs >= 0:
        raise UsageError(f"flush_secs must be a number of seconds >= 0 (default 120), got {flush_secs!r}")
