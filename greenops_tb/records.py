"""The one record schema: one closed interval of one stage.

Every sink (CSV, TensorBoard events) and every reader (plugin, export, pandas)
goes through :class:`Record` and the helpers here, so they cannot disagree.

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
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
from itertools import repeat
from json.encoder import encode_basestring_ascii as _json_str  # how _JSON writes text (ensure_ascii)
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

SCHEMA_VERSION = 1

#: Grid generation sources, in display order. Shares of a mix sum to 1.
SOURCES: tuple[str, ...] = (
    "coal",
    "gas",
    "oil",
    "nuclear",
    "hydro",
    "wind",
    "solar",
    "bioenergy",
    "other_renewable",
)
LOW_CARBON_SOURCES = frozenset({"nuclear", "hydro", "wind", "solar", "bioenergy", "other_renewable"})
RENEWABLE_SOURCES = frozenset({"hydro", "wind", "solar", "bioenergy", "other_renewable"})

#: Device kinds every record reports, even when a kind is not measured (0.0).
DEVICE_KINDS: tuple[str, ...] = ("gpu", "cpu", "ram")

#: Compact JSON as ``json.dumps(x, separators=(",", ":"))`` gives it (NaN/inf allowed), without
#: building a new encoder per call. Python's json round-trips NaN/inf watched values.
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=True, check_circular=False)


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

    @property
    def provenance(self) -> str:
        """``device=label;...`` for every device, sorted by device id."""
        return ";".join(f"{k}={v.provenance}" for k, v in sorted(self.devices.items()))

    def to_json(self) -> dict[str, Any]:
        d = dict(zip(_RECORD_FIELDS, _record_values(self)))
        d["devices"] = {k: v.to_json() for k, v in self.devices.items()}
        d["schema"] = SCHEMA_VERSION
        return d

    def to_json_str(self) -> str:
        """``json.dumps(self.to_json(), separators=(",", ":"))``, built from :class:`RecordText`."""
        return RecordText(self).json()

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Record":
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in d:
                kwargs[f.name] = d[f.name]
        kwargs["devices"] = {k: DeviceEnergy.from_json(v) for k, v in d.get("devices", {}).items()}
        kwargs["mix_kwh"] = {k: float(v) for k, v in d.get("mix_kwh", {}).items()}
        kwargs["watched"] = {k: float(v) for k, v in d.get("watched", {}).items()}
        kwargs["embodied_kg_by_device"] = {k: float(v) for k, v in d.get("embodied_kg_by_device", {}).items()}
        return cls(**kwargs)

    @classmethod
    def from_json_str(cls, s: str | bytes) -> "Record":
        return cls.from_json(json.loads(s))


_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Record))
_record_values = operator.attrgetter(*_RECORD_FIELDS)


# --------------------------------------------------------------------------- CSV
# The CSV has one fixed set of columns plus one column per watched value known
# when the header was written ("watch:<name>"). Watched keys that first appear
# after the header was written go to the "watched_extra" JSON column, so nothing
# is lost and the header is written exactly once (crash safety).

WATCH_PREFIX = "watch:"
MIX_PREFIX = "mix_kwh_"
#: The footprint's columns, beside operational CO2e (``embodied_json``: the interval's kgCO2e per part).
FOOTPRINT_COLUMNS: tuple[str, ...] = (
    "embodied_kg", "water_onsite_l", "water_offsite_l", "embodied_json",
    "stage_embodied_kg", "stage_water_onsite_l", "stage_water_offsite_l",
    "run_embodied_kg", "run_water_onsite_l", "run_water_offsite_l",
)

BASE_COLUMNS: tuple[str, ...] = (
    "run",
    "stage",
    "seq",
    "step",
    "epoch",
    "start_time",
    "end_time",
    "duration_s",
    "energy_kwh_gpu",
    "energy_kwh_cpu",
    "energy_kwh_ram",
    "energy_kwh",
    "facility_energy_kwh",
    "avg_power_w",
    "co2_kg",
    "cost",
    "currency",
    "price_source",
    "carbon_intensity_g_per_kwh",
    "intensity_source",
    "location",
    "location_source",
    "pue",
    *(MIX_PREFIX + s for s in SOURCES),
    "provenance",
    "devices_json",
    "stage_duration_s",
    "stage_energy_kwh",
    "stage_co2_kg",
    "stage_cost",
    "run_duration_s",
    "run_energy_kwh",
    "run_co2_kg",
    "run_cost",
    *FOOTPRINT_COLUMNS,
    "watched_extra",
)
#: Appended after the watch columns when the hash chain is enabled.
CHAIN_COLUMN = "chain_hash"

#: Columns that must be present for a row to be turned back into a Record.
REQUIRED_COLUMNS: frozenset[str] = frozenset({"run", "stage", "seq", "step", "energy_kwh"})

_INT_FIELDS = frozenset({"seq", "step", "epoch"})
_OPTIONAL_FLOAT_FIELDS = frozenset({"cost", "stage_cost", "run_cost"} | {c for c in FOOTPRINT_COLUMNS if c != "embodied_json"})
_DICT_FIELDS = ("mix_kwh", "devices", "watched", "embodied_kg_by_device")
_STR_FIELDS = frozenset(
    {"run", "stage", "currency", "price_source", "intensity_source", "location", "location_source", "chain_hash"}
)


def csv_columns(watched: list[str] | tuple[str, ...] = (), *, chain: bool = False) -> list[str]:
    """The full (widest) CSV header for a run with these watched names."""
    cols = list(BASE_COLUMNS) + [WATCH_PREFIX + w for w in watched]
    if chain:
        cols.append(CHAIN_COLUMN)
    return cols


def format_float(x: float | None) -> str:
    """Shortest round-tripping text for a float; '' for None; 'nan'/'inf'/'-inf' kept."""
    if x is None:
        return ""
    return repr(float(x))


def parse_float(s: str) -> float | None:
    return None if s == "" else float(s)


_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(s: str) -> str:
    """Prefix text a spreadsheet would execute as a formula with a single quote."""
    return "'" + s if s.startswith(_FORMULA_LEAD) else s


def unneutralise_text(s: str) -> str:
    return s[1:] if s.startswith("'") and s[1:2] and s[1:].startswith(_FORMULA_LEAD) else s


def _getter(names: Sequence[Any], get: Callable[..., Callable[[Any], Any]] = operator.attrgetter,
            ) -> Callable[[Any], tuple]:
    """``obj -> tuple of obj.<name>`` (or of ``obj[i]`` with ``get=itemgetter``) for any number of names
    (attrgetter and itemgetter alone unpack one name)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        get1 = get(names[0])
        return lambda obj: (get1(obj),)
    return get(*names)


# --------------------------------------------------------------------------- record text
# A 17-digit float costs ~0.4 us to format and a record holds ~35 of them, so the CSV row and
# the record JSON share one RecordText: every number is formatted once per record.

#: Record fields that always hold a float, in field order (the CSV's number columns and the JSON's).
FLOAT_FIELDS: tuple[str, ...] = tuple(
    f for f in _RECORD_FIELDS
    if f not in _STR_FIELDS | _INT_FIELDS | _OPTIONAL_FLOAT_FIELDS and f not in _DICT_FIELDS
)
_OPTIONAL_FIELDS: tuple[str, ...] = tuple(f for f in _RECORD_FIELDS if f in _OPTIONAL_FLOAT_FIELDS)
_INT_FIELD_ORDER: tuple[str, ...] = tuple(f for f in _RECORD_FIELDS if f in _INT_FIELDS)
_STR_FIELD_ORDER: tuple[str, ...] = tuple(f for f in _RECORD_FIELDS if f in _STR_FIELDS)
_float_values, _optional_values = _getter(FLOAT_FIELDS), _getter(_OPTIONAL_FIELDS)
_int_values, _str_values = _getter(_INT_FIELD_ORDER), _getter(_STR_FIELD_ORDER)
#: CSV number text -> JSON's (what json.dumps writes for None, NaN and infinities)
_JSON_NUMBER = {"": "null", "nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _number_texts(values: Sequence[Any]) -> list[str]:
    """:func:`format_float` of each value, at C speed unless one is None."""
    try:
        return list(map(repr, map(float, values)))
    except TypeError:
        return list(map(format_float, values))


def _optional_texts(values: Sequence[Any]) -> list[str]:
    """:func:`format_float` of values that may be None, without the exception path of :func:`_number_texts`."""
    return ["" if v is None else repr(float(v)) for v in values]


def _json_numbers(texts: list[str]) -> list[str]:
    """Number texts as JSON writes them ('' -> null, nan -> NaN, inf -> Infinity)."""
    if all(texts) and "n" not in "".join(texts):  # the usual case: finite numbers only
        return texts
    return [_JSON_NUMBER.get(t, t) for t in texts]


@functools.lru_cache(maxsize=256)
def _object_template(keys: tuple[str, ...]) -> str:
    """``{"k1":%s,"k2":%s}`` with the keys as compact JSON writes them."""
    return "{" + ",".join(_json_str(k).replace("%", "%%") + ":%s" for k in keys) + "}"


@functools.lru_cache(maxsize=256)
def _device_parts(device_id: str, kind: str, provenance: str) -> tuple[str, str]:
    """The JSON of one device around its energy: ``"id":{"kind":..,"energy_kwh":`` and ``,"provenance":..}``."""
    return (f'{_json_str(device_id)}:{{"kind":{_json_str(kind)},"energy_kwh":',
            f',"provenance":{_json_str(provenance)}}}')


def _numbers_object(d: Mapping[str, float], texts: list[str]) -> str:
    return _object_template(tuple(d)) % tuple(_json_numbers(texts)) if d else "{}"


class Numbers(NamedTuple):
    """A record's numbers as text (``repr``, '' for None): ``floats`` follows :data:`FLOAT_FIELDS`,
    ``optional`` the cost fields, ``mix`` and ``watched`` the record's dicts."""

    floats: list[str]
    optional: list[str]
    mix: list[str]
    watched: list[str]


class RecordText:
    """A record's text forms, each built once (on first use) for every sink that needs it.

    ``numbers()`` feeds the CSV row and the record JSON; ``devices_json`` is both the ``devices_json``
    CSV cell and the JSON's ``devices``. ``rec`` may be swapped for a copy that differs in text
    fields only (the CSV sets ``chain_hash``).
    """

    __slots__ = ("rec", "_numbers", "_devices", "_embodied")

    def __init__(self, rec: Record) -> None:
        self.rec = rec
        self._numbers: Numbers | None = None
        self._devices: str | None = None
        self._embodied: str | None = None

    @property
    def embodied_json(self) -> str:
        """``json.dumps(rec.embodied_kg_by_device, separators=(",", ":"))`` (the CSV cell and the JSON's)."""
        if self._embodied is None:
            d = self.rec.embodied_kg_by_device
            self._embodied = _numbers_object(d, _number_texts(tuple(d.values())))
        return self._embodied

    def numbers(self) -> Numbers:
        if self._numbers is None:
            rec = self.rec
            self._numbers = Numbers(_number_texts(_float_values(rec)), _optional_texts(_optional_values(rec)),
                                    _number_texts(tuple(rec.mix_kwh.values())),
                                    _number_texts(tuple(rec.watched.values())))
        return self._numbers

    @property
    def devices_json(self) -> str:
        """``json.dumps({id: device.to_json()}, separators=(",", ":"))``."""
        if self._devices is None:
            parts = []
            for i, d in self.rec.devices.items():
                head, tail = _device_parts(i, d.kind, d.provenance)
                (energy,) = _json_numbers(_number_texts((d.energy_kwh,)))
                if d.context:
                    tail = tail[:-1] + ',"context":' + _JSON.encode(d.context) + "}"
                parts.append(head + energy + tail)
            self._devices = "{" + ",".join(parts) + "}"
        return self._devices

    def json(self) -> str:
        """The record's JSON, equal to ``json.dumps(rec.to_json(), separators=(",", ":"))``."""
        rec, n = self.rec, self.numbers()
        parts = _json_numbers(n.floats) + _json_numbers(n.optional)  # a new list
        parts += map(int.__repr__, _int_values(rec))
        parts += map(_json_str, _str_values(rec))
        parts += (_numbers_object(rec.mix_kwh, n.mix), self.devices_json, _numbers_object(rec.watched, n.watched),
                  self.embodied_json)
        return _RECORD_TEMPLATE % _JSON_ORDER(parts)


def _json_layout() -> tuple[str, Callable[[list[str]], tuple]]:
    """The record JSON as a %-template in field order, and how to put RecordText.json's parts in that order."""
    groups = [*FLOAT_FIELDS, *_OPTIONAL_FIELDS, *_INT_FIELD_ORDER, *_STR_FIELD_ORDER, *_DICT_FIELDS]
    template = "{" + ",".join(f'"{f}":%s' for f in _RECORD_FIELDS) + f',"schema":{SCHEMA_VERSION}}}'
    return template, operator.itemgetter(*(groups.index(f) for f in _RECORD_FIELDS))


_RECORD_TEMPLATE, _JSON_ORDER = _json_layout()


class RowPlan:
    """:func:`record_to_row` compiled for one header: every per-column decision is made once.

    Cells are produced group by group with C-level ``map`` calls from the record's
    :class:`RecordText` (numbers, optional numbers, ints, text, mix, watched, derived columns),
    then put in header order by one ``itemgetter``. ``text_at`` lists the positions of text
    cells: the only ones a CSV writer may have to quote (numbers, ``nan``/``inf`` and empty
    cells never need it).
    """

    __slots__ = ("_floats", "_optional", "_ints", "_texts", "_mix", "_watch", "_header_watch", "_derived",
                 "_order", "text_at")

    def __init__(self, columns: Sequence[str]) -> None:
        floats: list[int] = []
        optional: list[int] = []
        ints: list[str] = []
        texts: list[str] = []
        self._mix: list[str] = []
        self._watch: list[str] = []
        self._derived: list[str] = []
        where: list[tuple[int, int]] = []  # (group, index in group) per column
        groups = (floats, optional, ints, texts, self._mix, self._watch, self._derived)
        for c in columns:
            key: str | int
            if c.startswith(WATCH_PREFIX):
                g, key = 5, c[len(WATCH_PREFIX):]
            elif c.startswith(MIX_PREFIX):
                g, key = 4, c[len(MIX_PREFIX):]
            elif c in ("provenance", "devices_json", "watched_extra", "embodied_json"):
                g, key = 6, c
            elif c in _STR_FIELDS:
                g, key = 3, c
            elif c in _INT_FIELDS:
                g, key = 2, c
            elif c in _OPTIONAL_FLOAT_FIELDS:
                g, key = 1, _OPTIONAL_FIELDS.index(c)
            else:
                g, key = 0, FLOAT_FIELDS.index(c)
            where.append((g, len(groups[g])))
            groups[g].append(key)
        self._floats = _getter(floats, operator.itemgetter)
        self._optional = _getter(optional, operator.itemgetter)
        self._ints, self._texts = _getter(ints), _getter(texts)
        self._header_watch = frozenset(self._watch)
        self.text_at: tuple[int, ...] = tuple(pos for pos, (g, _) in enumerate(where) if g in (3, 6))
        starts = [0]
        for grp in groups:
            starts.append(starts[-1] + len(grp))
        order = [starts[g] + i for g, i in where]
        if len(order) == 1:
            only = order[0]
            self._order: Callable[[list[str]], Any] = lambda cells: (cells[only],)
        elif order:
            self._order = operator.itemgetter(*order)
        else:
            self._order = lambda cells: ()

    def __call__(self, rec: Record, text: RecordText | None = None) -> list[str]:
        """Cells of ``rec``; ``text`` (its :class:`RecordText`) when the caller has it already."""
        if text is None:
            text = RecordText(rec)
        n = text.numbers()
        cells = list(self._floats(n.floats))
        cells += self._optional(n.optional)
        cells += map(str, self._ints(rec))
        cells += map(neutralise_text, self._texts(rec))
        if self._mix:
            cells += map(dict(zip(rec.mix_kwh, n.mix)).get, self._mix, repeat(""))
        if self._watch:
            cells += map(dict(zip(rec.watched, n.watched)).get, self._watch, repeat(""))
        for c in self._derived:
            if c == "provenance":
                cells.append(neutralise_text(rec.provenance))
            elif c == "devices_json":
                cells.append(text.devices_json)
            elif c == "embodied_json":
                cells.append(text.embodied_json if rec.embodied_kg_by_device else "")
            elif rec.watched.keys() <= self._header_watch:  # watched_extra, nothing extra
                cells.append("")
            else:
                extra = {k: v for k, v in rec.watched.items() if k not in self._header_watch}
                cells.append(_JSON.encode(extra))
        return list(self._order(cells))


@functools.lru_cache(maxsize=64)
def row_plan(columns: tuple[str, ...]) -> RowPlan:
    """The cached :class:`RowPlan` for a header (a tuple, so it can be a cache key)."""
    return RowPlan(columns)


def record_to_row(rec: Record, columns: Sequence[str]) -> list[str]:
    """Cells for ``columns`` (a header from :func:`csv_columns`, possibly a subset)."""
    return row_plan(tuple(columns))(rec)


def row_to_record(row: Mapping[str, str]) -> Record:
    """Inverse of :func:`record_to_row` for a full-width row (a dict from ``csv.DictReader``).

    Columns missing from a narrowed CSV get neutral defaults (0.0, '' or None).
    """
    missing = REQUIRED_COLUMNS - row.keys()
    if missing:
        raise ValueError(f"CSV row lacks required columns {sorted(missing)}; was it written with csv_columns=...?")
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(Record):
        name = f.name
        if name in _DICT_FIELDS:
            continue
        s = row.get(name)
        if name in _STR_FIELDS:
            kw[name] = unneutralise_text(s or "")
        elif name in _INT_FIELDS:
            kw[name] = int(s) if s else 0
        elif name in _OPTIONAL_FLOAT_FIELDS:
            kw[name] = parse_float(s or "")
        else:
            kw[name] = float(s) if s else 0.0
    kw["mix_kwh"] = {
        k[len(MIX_PREFIX):]: float(v) for k, v in row.items() if k and k.startswith(MIX_PREFIX) and v not in ("", None)
    }
    dj = row.get("devices_json") or ""
    kw["devices"] = {k: DeviceEnergy.from_json(v) for k, v in json.loads(dj).items()} if dj else {}
    watched = {
        k[len(WATCH_PREFIX):]: float(v)
        for k, v in row.items()
        if k and k.startswith(WATCH_PREFIX) and v not in ("", None)
    }
    extra = row.get("watched_extra") or ""
    if extra:
        watched.update({k: float(v) for k, v in json.loads(extra).items()})
    kw["watched"] = watched
    ej = row.get("embodied_json") or ""
    kw["embodied_kg_by_device"] = {k: float(v) for k, v in json.loads(ej).items()} if ej else {}
    return Record(**kw)


# --------------------------------------------------------------------------- events
# TensorBoard layout (written by sinks/events.py, read by readers/events.py):
#
#   green/<stage>/record         plugin "green", JSON string tensor of Record.to_json_str(),
#                                SummaryMetadata.data_class = DATA_CLASS_TENSOR; one tag per stage
#                                so TensorBoard's reservoir always keeps each stage's latest record
#                                (which carries the stage and run running totals).
#   green/<stage>/<scalar>       float scalars for the Scalars tab: EVENT_SCALARS below.
#   watch/<stage>/<name>         watched values, float scalars.
#   green/run_metadata           plugin "green", JSON string tensor (RunMetadata), written once at start.
#
# All values of one record are written in ONE event (one Summary) at step = record.step.

PLUGIN_NAME = "green"
RECORD_TAG_SUFFIX = "/record"
RUN_METADATA_TAG = "green/run_metadata"
#: scalar tag suffix -> Record attribute. Totals are running (cumulative) values.
EVENT_SCALARS: dict[str, str] = {
    "energy_kwh": "stage_energy_kwh",
    "co2_kg": "stage_co2_kg",
    "cost": "stage_cost",
    "duration_s": "stage_duration_s",
    "power_w": "avg_power_w",
}


def record_tag(stage: str) -> str:
    return f"green/{stage}{RECORD_TAG_SUFFIX}"


def scalar_tag(stage: str, suffix: str) -> str:
    return f"green/{stage}/{suffix}"


def watch_tag(stage: str, name: str) -> str:
    return f"watch/{stage}/{name}"


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
    footprint: dict[str, Any] = field(default_factory=dict)  # greenops_tb.footprint.Footprint.metadata()

    def to_json_str(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), allow_nan=True)

    @classmethod
    def from_json_str(cls, s: str | bytes) -> "RunMetadata":
        d = json.loads(s)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
