"""The record's field table: the one place that says how each :class:`~greenops_tb.format.schema.Record`
field is stored, read back and typed.

Every encoder and decoder is driven by :data:`FIELDS`: the record JSON (:mod:`greenops_tb.format.text`,
:meth:`Record.from_json <greenops_tb.format.schema.Record.from_json>`), the CSV (columns, cells and rows
read back: :mod:`greenops_tb.format.columns`, :mod:`greenops_tb.format.rows`), the check of records read
back from event files (:mod:`greenops_tb.format.summary`) and the pandas dtypes
(:mod:`greenops_tb.analysis.frames`). The table is in CSV column order; the JSON follows ``Record``'s own
field order.

Adding a field, e.g. ``heat_kwh: float | None = None``: declare it on ``Record`` (format/schema.py, after the
last field: older files then read with its default) and add ``Field("heat_kwh", Kind.MAYBE_FLOAT)`` here, where
its CSV column goes (``_r(...)`` instead when a re-opened run must continue from it, as from a running total).
The JSON, the CSV column and its cells, reading both back, the event record and the
DataFrame dtype follow, and tests/test_format_roundtrip.py draws it. Then fill it where records are built
(recording/stages.py: its place in ``_NUMBER_ORDER``, ``_MAP_ORDER`` or ``_TEXT_ORDER``, its value in
``Stages._record`` or ``Stages._form``); a curve on the Scalars
tab is one more line in ``EVENT_SCALARS`` (format/tags.py).
A field declared on one side only fails at import, naming it.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

#: Grid generation sources, in display order. Shares of a mix sum to 1.
SOURCES: tuple[str, ...] = (
    "coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bioenergy", "other_renewable",
)
MIX_PREFIX = "mix_kwh_"
WATCH_PREFIX = "watch:"


class Kind(Enum):
    """What a field holds (its Python type)."""

    TEXT = "str"
    INT = "int"
    FLOAT = "float"  # NaN and infinities kept
    MAYBE_FLOAT = "float | None"  # None = unknown: an empty CSV cell, JSON null, pandas NA
    NUMBERS = "dict[str, float]"
    DEVICES = "dict[str, DeviceEnergy]"


class Cell(Enum):
    """How a field is laid out in the CSV."""

    ONE = "one cell, its own column"  # text neutralised against spreadsheet formulas
    SPREAD = "one cell per key, in prefixed columns"  # mix_kwh_<source>
    JSON = "one compact JSON cell"
    WATCH = "watch:<name> columns, names that came later in one JSON cell"
    DEVICES = "the provenance summary and one JSON cell"
    CHAIN = "the chain column, after the watch columns (hash_chain=True)"
    NONE = "not in the CSV (event records only)"


#: the pandas dtype of each kind's columns (see :mod:`greenops_tb.analysis.frames`)
_DTYPES = {Kind.TEXT: "category", Kind.INT: "int64", Kind.FLOAT: "float64", Kind.MAYBE_FLOAT: "Float64",
           Kind.NUMBERS: "float64", Kind.DEVICES: "string"}
_DEFAULTS: dict[Kind, Any] = {Kind.TEXT: "", Kind.INT: 0, Kind.FLOAT: 0.0, Kind.MAYBE_FLOAT: None}


@dataclass(frozen=True, slots=True)
class Field:
    """One record field: its kind, its CSV layout and columns, its pandas dtype, how older files read it."""

    name: str
    kind: Kind = Kind.FLOAT
    cell: Cell = Cell.ONE
    columns: tuple[str, ...] = ()  # its CSV columns (one-value cells: its name)
    dtype: str = ""  # pandas dtype of its columns ("": the kind's; "datetime": UTC timestamps from unix s)
    finite: bool = False  # must be a finite number in a record read back from event files
    fallback: str = ""  # in files written before the field existed: the value of this other field
    resume: bool = False  # a re-opened run continues from it (csv_columns= always keeps its columns)

    @property
    def one_value(self) -> bool:
        """Whether it is one cell in a column of its own name (Cell.ONE, Cell.CHAIN)."""
        return self.cell in (Cell.ONE, Cell.CHAIN)

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return (self.name,) if self.one_value else self.columns

    @property
    def pandas_dtype(self) -> str:
        return self.dtype or _DTYPES[self.kind]

    def default(self) -> Any:
        """What a reader gives a field its file lacks (a narrowed CSV's column): 0, 0.0, '', None or {}."""
        return _DEFAULTS[self.kind] if self.kind in _DEFAULTS else {}


_f = Field


def _r(name: str, kind: Kind = Kind.FLOAT, **kw: Any) -> Field:
    """A field a re-opened run continues from (``resume=True``)."""
    return Field(name, kind, resume=True, **kw)

_TEXT, _INT, _MAYBE = Kind.TEXT, Kind.INT, Kind.MAYBE_FLOAT


def _events_only(name: str) -> Field:
    return Field(name, Kind.NUMBERS, cell=Cell.NONE)


#: Every Record field, in CSV column order.
FIELDS: tuple[Field, ...] = (
    _r("run", _TEXT), _r("stage", _TEXT), _r("seq", _INT, finite=True), _r("step", _INT, finite=True),
    _r("stage_step", _INT, fallback="step"), _r("epoch", _INT), _r("resume", _INT),
    _r("start_time", dtype="datetime", finite=True), _f("end_time", dtype="datetime", finite=True),
    _r("duration_s", finite=True),
    _r("energy_kwh_gpu"), _r("energy_kwh_cpu"), _r("energy_kwh_ram"), _r("energy_kwh", finite=True),
    _r("facility_energy_kwh"), _f("avg_power_w"), _r("co2_kg", finite=True), _r("cost", _MAYBE),
    _f("currency", _TEXT), _f("price_source", _TEXT), _f("carbon_intensity_g_per_kwh"),
    _f("intensity_source", _TEXT), _r("location", _TEXT), _f("location_source", _TEXT), _f("pue", finite=True),
    _r("mix_kwh", Kind.NUMBERS, cell=Cell.SPREAD, columns=tuple(MIX_PREFIX + s for s in SOURCES)),
    _r("devices", Kind.DEVICES, cell=Cell.DEVICES, columns=("provenance", "devices_json")),
    _f("stage_duration_s", finite=True), _f("stage_energy_kwh", finite=True), _f("stage_co2_kg", finite=True),
    _f("stage_cost", _MAYBE),
    _r("run_duration_s", finite=True), _r("run_energy_kwh", finite=True), _r("run_co2_kg", finite=True),
    _r("run_cost", _MAYBE),
    _r("samples", _INT), _r("tokens", _INT), _f("stage_samples", _INT), _f("stage_tokens", _INT),
    _r("embodied_kg", _MAYBE), _r("water_onsite_l", _MAYBE), _r("water_offsite_l", _MAYBE),
    _r("embodied_kg_by_device", Kind.NUMBERS, cell=Cell.JSON, columns=("embodied_json",), dtype="string"),
    _f("stage_embodied_kg", _MAYBE), _f("stage_water_onsite_l", _MAYBE), _f("stage_water_offsite_l", _MAYBE),
    _r("run_embodied_kg", _MAYBE), _r("run_water_onsite_l", _MAYBE), _r("run_water_offsite_l", _MAYBE),
    _f("watched", Kind.NUMBERS, cell=Cell.WATCH, columns=("watched_extra",), dtype="string"),
    _f("chain_hash", _TEXT, cell=Cell.CHAIN, dtype="string"),
    _events_only("run_devices_kwh"), _events_only("stage_mix_kwh"), _events_only("run_mix_kwh"),
)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}


def of_kind(*kinds: Kind) -> tuple[str, ...]:
    """The names of the fields of these kinds, in table order."""
    return tuple(f.name for f in FIELDS if f.kind in kinds)


#: The columns a re-opened run continues from (see :mod:`greenops_tb.recording.resume`).
RESUME_COLUMNS: frozenset[str] = frozenset(c for f in FIELDS if f.resume for c in f.csv_columns)
#: The base CSV columns (the watch columns and the chain column come after them), and which field owns each.
BASE_COLUMNS: tuple[str, ...] = tuple(c for f in FIELDS if f.cell is not Cell.CHAIN for c in f.csv_columns)
COLUMN_FIELD: dict[str, Field] = {c: f for f in FIELDS for c in f.csv_columns}


def column_dtype(column: str) -> str:
    """The pandas dtype of a CSV column (watched values: float64)."""
    f = COLUMN_FIELD.get(column)
    if f is None:
        return "float64" if column.startswith(WATCH_PREFIX) else "string"
    return f.pandas_dtype
