"""The one record schema: one closed interval of one stage, and the run's metadata.

Every sink (CSV, TensorBoard events) and every reader (plugin, export, pandas)
goes through :class:`Record`, so they cannot disagree. The record JSON carries
``"schema": SCHEMA_VERSION``; readers load older versions and refuse newer ones
with :class:`NewerFormatError` (which says to upgrade).

Units are in the field names: ``_kwh`` kilowatt-hours, ``_kg`` kilograms of
CO2-equivalent, ``_s`` seconds, ``_w`` watts, ``_g_per_kwh`` grams per kWh.

* ``energy_kwh*`` is IT energy, what the devices drew (before PUE).
* ``facility_energy_kwh`` is ``energy_kwh * pue``; CO2, cost and the source
  mix are computed from it.
* ``cost`` is ``None`` when no electricity price is known (an empty CSV cell),
  never an invented number.
* ``stage_*`` are the stage's running totals up to and including this record.
* ``run_*`` are the run's running totals where every joule is counted once,
  even when stages overlap (the ``total`` view).
* ``run_devices_kwh`` (device id -> IT kWh, every joule once) and
  ``stage_mix_kwh``/``run_mix_kwh`` (source -> facility kWh) split the running
  totals exactly, so the latest records alone give exact splits (TensorBoard keeps
  only a sample of the records; see :func:`running_mix`). A running mix is ``{}``
  while the grid's shares have not changed (the embedded data's case): it is then
  the running facility energy split by this record's own shares. Event records
  only: the CSV holds every interval, whose per-device and per-source cells sum to them.
* ``step`` is the record's place on the run's step axis (by default the user's own
  ``global_step``, see :mod:`greenops_tb.recording.stages`); ``stage_step`` the stage's own counter.
"""
from __future__ import annotations

import dataclasses
import json
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Mapping

from greenops_tb.errors import NewerFormatError as NewerFormatError
from greenops_tb.format.fields import FIELDS, Cell, Kind, of_kind
from greenops_tb.format.fields import SOURCES as SOURCES  # grid sources, in display order
from greenops_tb.format.workunits import RATES

SCHEMA_VERSION = 1

LOW_CARBON_SOURCES = frozenset({"nuclear", "hydro", "wind", "solar", "bioenergy", "other_renewable"})
RENEWABLE_SOURCES = frozenset({"hydro", "wind", "solar", "bioenergy", "other_renewable"})

#: Device kinds every record reports, even when a kind is not measured (0.0).
DEVICE_KINDS: tuple[str, ...] = ("gpu", "cpu", "ram")

#: Compact JSON as ``json.dumps(x, separators=(",", ":"))`` gives it (NaN/inf allowed), without
#: building a new encoder per call. Python's json round-trips NaN/inf watched values.
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=True, check_circular=False)


@dataclass(frozen=True, slots=True)
class DeviceEnergy:
    """Energy of one device in one interval and where the number came from."""

    kind: str  # "gpu" | "cpu" | "ram"
    energy_kwh: float
    provenance: str  # e.g. "nvml-energy", "rapl", "model-tdp", "model-tdp (fallback: rapl unreadable)"
    #: what the device was doing, where its source says: e.g. {"util_pct": mean over the interval,
    #: "mem_used_gb": at its end}; empty for most devices (and in files written before it existed)
    context: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = {"kind": self.kind, "energy_kwh": self.energy_kwh, "provenance": self.provenance}
        if self.context:
            d["context"] = self.context
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "DeviceEnergy":
        return cls(kind=str(d["kind"]), energy_kwh=float(d["energy_kwh"]), provenance=str(d["provenance"]),
                   context={str(k): float(v) for k, v in d.get("context", {}).items()})


def _rate(name: str) -> Any:
    """Record's property ``name``, a running rate per unit (:data:`~greenops_tb.format.workunits.RATES`)."""
    rate, total, count = RATES[name]
    get = operator.attrgetter(total, count)
    return property(lambda rec: rate(*get(rec)), doc=f"{name}: {rate.__doc__}")


@dataclass(frozen=True, slots=True)
class Record:
    """One closed interval of one stage. Emitted by ``update()`` and ``stop()``."""

    run: str
    stage: str
    seq: int  # order of emission within the run, from 0
    step: int
    epoch: int
    start_time: float  # unix seconds (wall clock)
    end_time: float
    duration_s: float  # from a monotonic clock
    energy_kwh_gpu: float
    energy_kwh_cpu: float
    energy_kwh_ram: float
    energy_kwh: float  # sum of the device kinds, before PUE
    facility_energy_kwh: float  # energy_kwh * pue
    avg_power_w: float  # energy_kwh / duration_s, in W (0.0 for a zero-length interval)
    co2_kg: float
    cost: float | None
    currency: str  # ISO 4217, "" when unknown
    price_source: str  # e.g. "eurostat-2024-S2-non_household", "argument", "unknown"
    carbon_intensity_g_per_kwh: float
    intensity_source: str  # dataset and year, or live provider, e.g. "ember-2024", "electricitymaps-live"
    location: str  # resolved zone, e.g. "DE", "US-CA", "IE"
    location_source: str  # how it was chosen: "argument", "env:GREENOPS_COUNTRY", "timezone", "world-average", ...
    pue: float
    mix_kwh: dict[str, float]  # facility energy per grid source (keys: SOURCES); empty when no mix is known
    devices: dict[str, DeviceEnergy]  # device id ("gpu:0", "cpu:0", "ram") -> energy and provenance
    watched: dict[str, float]  # watched name -> value at record time (NaN/inf kept)
    stage_duration_s: float
    stage_energy_kwh: float
    stage_co2_kg: float
    stage_cost: float | None
    run_duration_s: float
    run_energy_kwh: float
    run_co2_kg: float
    run_cost: float | None
    chain_hash: str = ""  # hash chain over CSV rows, "" when not enabled
    resume: int = 0  # which opening of the run wrote it: 0, then 1, 2, ... for each re-opening (see resume.py)
    # -- work units (greenops_tb.format.workunits): this interval's counts and the stage's running totals
    samples: int = 0
    tokens: int = 0
    stage_samples: int = 0
    stage_tokens: int = 0
    # -- footprint (greenops_tb.footprint): BESIDE operational CO2e, never added into co2_kg; None = unknown
    embodied_kg: float | None = None  # manufacturing CO2e of the occupied hardware, amortised over this interval
    water_onsite_l: float | None = None  # IT energy x WUE (None: WUE unknown)
    water_offsite_l: float | None = None  # facility energy's grid mix x water consumption factors (None: no mix)
    stage_embodied_kg: float | None = None
    stage_water_onsite_l: float | None = None
    stage_water_offsite_l: float | None = None
    run_embodied_kg: float | None = None
    run_water_onsite_l: float | None = None
    run_water_offsite_l: float | None = None
    embodied_kg_by_device: dict[str, float] = field(default_factory=dict)  # part ("gpu:0", "host") -> kgCO2e

    # the stage's running rates per unit (None before any unit was counted): see workunits.RATES
    stage_j_per_sample = _rate("stage_j_per_sample")
    stage_g_per_sample = _rate("stage_g_per_sample")
    stage_j_per_token = _rate("stage_j_per_token")
    stage_g_per_token = _rate("stage_g_per_token")
    # -- added in schema 1 without a version bump (older files lack them; readers default them) ----------
    stage_step: int = -1  # the stage's own step count (files written before it: read as ``step``)
    run_devices_kwh: dict[str, float] = field(default_factory=dict)  # running IT kWh per device, each joule once
    stage_mix_kwh: dict[str, float] = field(default_factory=dict)  # running facility kWh per source ({}: see above)
    run_mix_kwh: dict[str, float] = field(default_factory=dict)

    @property
    def provenance(self) -> str:
        """``device=label;...`` for every device, sorted by device id."""
        return ";".join(f"{k}={v.provenance}" for k, v in sorted(self.devices.items()))

    def to_json(self) -> dict[str, Any]:
        d = dict(zip(RECORD_FIELDS, record_values(self)))
        d["devices"] = {k: v.to_json() for k, v in self.devices.items()}
        d["schema"] = SCHEMA_VERSION
        return d

    def to_json_str(self) -> str:
        """``json.dumps(self.to_json(), separators=(",", ":"))`` (sinks use the faster
        :class:`greenops_tb.format.text.RecordText`, whose text reads back the same)."""
        return COMPACT_JSON.encode(self.to_json())

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Record":
        """The record of ``to_json()``'s dict, of this or an older schema (NewerFormatError for a newer one)."""
        version = d.get("schema", SCHEMA_VERSION)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise NewerFormatError("schema", version)
        kwargs: dict[str, Any] = {}
        for f in FIELDS:
            if f.kind is Kind.NUMBERS:
                kwargs[f.name] = {k: float(v) for k, v in d.get(f.name, {}).items()}
            elif f.kind is Kind.DEVICES:
                kwargs[f.name] = {k: DeviceEnergy.from_json(v) for k, v in d.get(f.name, {}).items()}
            elif f.name in d:
                kwargs[f.name] = d[f.name]
            elif f.fallback:  # written before the field existed
                kwargs[f.name] = kwargs.get(f.fallback, f.default())
        return cls(**kwargs)

    @classmethod
    def from_json_str(cls, s: str | bytes) -> "Record":
        return cls.from_json(json.loads(s))


#: Record's fields in order, and ``rec -> tuple of their values``.
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Record))
record_values = operator.attrgetter(*RECORD_FIELDS)
if set(RECORD_FIELDS) != {f.name for f in FIELDS}:  # a field declared on one side only: say so at import
    raise TypeError(f"Record and the field table (greenops_tb/format/fields.py) disagree on "
                    f"{sorted(set(RECORD_FIELDS) ^ {f.name for f in FIELDS})}: declare each field in both")
#: The running splits (name -> float), written to the event record only (see the module docstring).
SPLIT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.cell is Cell.NONE)
#: The fields of each kind (see :mod:`greenops_tb.format.fields`, which drives every encoder and decoder).
DICT_FIELDS: frozenset[str] = frozenset(of_kind(Kind.NUMBERS, Kind.DEVICES))
INT_FIELDS: frozenset[str] = frozenset(of_kind(Kind.INT))
OPTIONAL_FLOAT_FIELDS: frozenset[str] = frozenset(of_kind(Kind.MAYBE_FLOAT))
STR_FIELDS: frozenset[str] = frozenset(of_kind(Kind.TEXT))
#: what every reader (pandas' int64 and nanosecond timestamps included) can hold: larger numbers make a row malformed
INT_LIMIT = 2**63
TIME_LIMIT_S = 2**63 // 10**9


def in_range(rec: Record) -> Record:
    """``rec`` if its integers fit int64 and its times a timestamp, else ValueError (a malformed record)."""
    for name in INT_FIELDS:
        if not -INT_LIMIT <= getattr(rec, name) < INT_LIMIT:
            raise ValueError(f"{name} {getattr(rec, name)} is outside the 64-bit integer range")
    for name in ("start_time", "end_time"):
        if not abs(getattr(rec, name)) < TIME_LIMIT_S:  # nan too
            raise ValueError(f"{name} {getattr(rec, name)} is not a time in years 1678-2261")
    return rec


@dataclass(frozen=True, slots=True)
class RunMetadata:
    """Written once per run: what was measured and with which data."""

    run: str
    version: str
    started_at: float
    host: str
    devices: dict[str, dict[str, str]]  # device id -> {"kind", "name", "provenance"}
    location: str
    location_name: str
    location_source: str
    pue: float
    carbon_intensity_g_per_kwh: float
    intensity_source: str
    mix_shares: dict[str, float]  # source -> share of generation, sums to 1 (empty if unknown)
    price_per_kwh: float | None
    currency: str
    price_source: str
    dataset: dict[str, str] = field(default_factory=dict)  # provenance of the grid data used
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. distributed world size, ranks, hosts
    resume: int = 0  # this opening of the run (0: the first; see greenops_tb.recording.resume)
    #: every opening so far, this one last: {"resume", "started_at", "location", "devices": {id: provenance}}
    openings: list[dict[str, Any]] = field(default_factory=list)
    footprint: dict[str, Any] = field(default_factory=dict)  # greenops_tb.footprint.Footprint.metadata()

    def to_json_str(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), allow_nan=True)

    @classmethod
    def from_json_str(cls, s: str | bytes) -> "RunMetadata":
        d = json.loads(s)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def running_mix(rec: Record, of: str) -> dict[str, float]:
    """The exact running source mix (facility kWh) of ``rec``'s stage (``of="stage"``) or run (``of="run"``)."""
    stored = rec.stage_mix_kwh if of == "stage" else rec.run_mix_kwh
    if stored:
        return dict(stored)
    facility = (rec.stage_energy_kwh if of == "stage" else rec.run_energy_kwh) * rec.pue
    interval = sum(rec.mix_kwh.values())
    return {s: facility * v / interval for s, v in rec.mix_kwh.items()} if interval > 0 else {}


def is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
