"""The CSV layout of a record: columns, cell text, and rows read back into records.

The CSV has one fixed set of columns plus one column per watched value known
when the header was written ("watch:<name>"). Watched keys that first appear
after the header was written go to the "watched_extra" JSON column, so nothing
is lost and the header is written exactly once (crash safety). Rows are
written by :class:`greenops_tb.format.rows.RowPlan`.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Sequence

from greenops_tb.format.schema import (
    DICT_FIELDS,
    FOOTPRINT_FIELDS,
    INT_FIELDS,
    OPTIONAL_FLOAT_FIELDS,
    SOURCES,
    STR_FIELDS,
    DeviceEnergy,
    Record,
)
from greenops_tb.format.workunits import WORK_FIELDS

WATCH_PREFIX = "watch:"
MIX_PREFIX = "mix_kwh_"
#: The footprint's columns, beside operational CO2e (``embodied_json``: the interval's kgCO2e per part).
FOOTPRINT_COLUMNS: tuple[str, ...] = (*FOOTPRINT_FIELDS[:3], "embodied_json", *FOOTPRINT_FIELDS[3:])

BASE_COLUMNS: tuple[str, ...] = (
    "run",
    "stage",
    "seq",
    "step",
    "stage_step",
    "epoch",
    "resume",
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
    *WORK_FIELDS,  # work units: samples, tokens and the stage's running totals
    *FOOTPRINT_COLUMNS,
    "watched_extra",
)
#: Columns derived from several fields (not one Record field each).
DERIVED_COLUMNS: frozenset[str] = frozenset({"provenance", "devices_json", "watched_extra", "embodied_json"})
#: Appended after the watch columns when the hash chain is enabled.
CHAIN_COLUMN = "chain_hash"
CSV_NAME = "green.csv"  # the CSV's name in the run's log_dir unless the writer is given csv_path=

#: Columns that must be present for a row to be turned back into a Record.
REQUIRED_COLUMNS: frozenset[str] = frozenset({"run", "stage", "seq", "step", "energy_kwh"})


def csv_columns(watched: list[str] | tuple[str, ...] = (), *, chain: bool = False,
                base: Sequence[str] = BASE_COLUMNS) -> list[str]:
    """The CSV header for a run with these watched names: the full (widest) one, or ``base``'s."""
    cols = list(base) + [WATCH_PREFIX + w for w in watched]
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


def row_to_record(row: Mapping[str, str]) -> Record:
    """Inverse of :func:`greenops_tb.format.rows.record_to_row` for a full-width row (a dict from
    ``csv.DictReader``). Columns missing from a narrowed CSV get neutral defaults (0.0, '' or None).
    """
    missing = REQUIRED_COLUMNS - row.keys()
    if missing:
        raise ValueError(f"CSV row lacks required columns {sorted(missing)}; was it written with csv_columns=...?")
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(Record):
        name = f.name
        if name in DICT_FIELDS:
            continue
        s = row.get(name)
        if name in STR_FIELDS:
            kw[name] = unneutralise_text(s or "")
        elif name in INT_FIELDS:
            kw[name] = int(s) if s else 0
        elif name in OPTIONAL_FLOAT_FIELDS:
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
    if "stage_step" not in row:  # a CSV written before the column existed
        kw["stage_step"] = kw["step"]
    ej = row.get("embodied_json") or ""
    kw["embodied_kg_by_device"] = {k: float(v) for k, v in json.loads(ej).items()} if ej else {}
    return Record(**kw)
