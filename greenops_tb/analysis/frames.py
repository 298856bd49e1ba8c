"""pandas DataFrames of green records (pandas is an optional extra: ``pip install greenops_tb[pandas]``).

One row per record, the live CSV's columns (:func:`greenops_tb.format.columns.csv_columns`)
with the dtypes of the field table (:mod:`greenops_tb.format.fields`): integers for
``seq``/``step``/``stage_step``/``epoch``, floats for quantities
(nullable ``Float64`` for ``cost`` columns, empty when no price is known, and for the footprint's
embodied and water columns, empty when unknown),
categories for text (``run``, ``stage``, ``location``...), UTC timestamps for
``start_time``/``end_time``, one float column per watched value (``watch:<name>``,
names that appeared mid-run included). Units are in the column names
(``_kwh``, ``_kg``, ``_s``, ``_w``, ``_g_per_kwh``, ``_l`` litres) and in ``df.attrs["units"]``.
"""
from __future__ import annotations

import os
from typing import Any, Iterable

from greenops_tb.format.columns import BASE_COLUMNS, MIX_PREFIX, WATCH_PREFIX, unneutralise_text
from greenops_tb.format.fields import column_dtype
from greenops_tb.format.rows import record_to_row
from greenops_tb.format.schema import OPTIONAL_FLOAT_FIELDS, Record

_COSTS = tuple(c for c in BASE_COLUMNS if c in OPTIONAL_FLOAT_FIELDS and c.endswith("cost"))
_TIMES = tuple(c for c in BASE_COLUMNS if column_dtype(c) == "datetime")
_UNIT_SUFFIXES = (("_g_per_kwh", "g/kWh"), ("_kwh", "kWh"), ("_kg", "kg CO2e"), ("_s", "s"), ("_w", "W"), ("_l", "L"))


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as err:
        raise ImportError("greenops_tb's DataFrame helpers need pandas: pip install 'greenops_tb[pandas]'") from err
    return pandas


def units(columns: Iterable[str]) -> dict[str, str]:
    """Column -> unit for the columns whose name carries one (costs are in the row's ``currency``)."""
    out = {}
    for c in columns:
        if c in _COSTS:
            out[c] = "currency"
        elif c.startswith((MIX_PREFIX, "energy_kwh_")):
            out[c] = "kWh"
        elif c in _TIMES:
            out[c] = "UTC timestamp"
        else:
            unit = next((u for suffix, u in _UNIT_SUFFIXES if c.endswith(suffix)), None)
            if unit:
                out[c] = unit
    return out


def records_frame(records: Iterable[Record]) -> Any:
    """A DataFrame of ``records`` (see the module docstring); every watched name becomes a column."""
    pd = _pandas()
    recs = list(records)
    watched: list[str] = []
    for r in recs:
        watched += [w for w in r.watched if w not in watched]
    columns = [c for c in BASE_COLUMNS if c != "watched_extra"] + [WATCH_PREFIX + w for w in watched]
    raw = pd.DataFrame([record_to_row(r, columns) for r in recs], columns=columns, dtype="string")
    data: dict[str, Any] = {}
    for c in columns:  # each column as the field table types it
        col, dtype = raw[c], column_dtype(c)
        if dtype == "Float64":  # '' = unknown, never 0
            data[c] = col.replace("", pd.NA).astype("Float64")
        elif dtype == "category":
            data[c] = col.map(unneutralise_text).astype("category")
        elif dtype == "datetime":
            data[c] = pd.to_datetime(col.astype("float64"), unit="s", utc=True)
        elif dtype == "float64":
            data[c] = col.replace("", "nan").astype("float64")
        else:  # int64, string
            data[c] = col.astype(dtype)
    df = pd.DataFrame(data, columns=columns)
    df.attrs["units"] = units(columns)
    return df


def read_csv(path: str | os.PathLike[str]) -> Any:
    """A live CSV as a DataFrame (a torn last line from a crash is ignored); a distributed job's run directory:
    its rank CSV shards merged into the job's records (device columns ``r<rank>/...``, job running totals).

    Warns once about columns the writer does not write (ignored) and base columns that are
    missing (a CSV narrowed with ``csv_columns=``, or not the writer's: they read as 0 / empty),
    and once about malformed rows (skipped and counted).
    """
    import warnings

    from greenops_tb.readers.csv import column_problems, read_job_records, read_table, table_records

    if os.path.isdir(path):
        return records_frame(read_job_records(path)[0])
    header, rows = read_table(path)
    unknown, missing = column_problems(header)
    if unknown or missing:
        parts = ([f"unknown columns {unknown} are ignored"] if unknown else []) + (
            [f"columns {missing} are missing and read as 0 / empty"] if missing else [])
        warnings.warn(f"greenops_tb: {os.fspath(path)}: {'; '.join(parts)}", RuntimeWarning, stacklevel=2)
    return records_frame(table_records(path, header, rows))


def load_runs(logdir: str | os.PathLike[str], *, runs: str | None = None, loader: str = "auto") -> Any:
    """Every green record in a logdir's event files (runs matching the shell pattern ``runs``) as one DataFrame."""
    from greenops_tb.readers.runs import open_logdir

    with open_logdir(logdir, loader) as ld:
        records = [rec for data in ld.read_all(ld.select(runs)) for rec in data.records]
    return records_frame(records)


def whatif_frame(result: Any) -> Any:
    """A :class:`~greenops_tb.analysis.elsewhere.WhatIf` as a DataFrame: this run first, then every ranked place
    (cleanest, then cheapest not already listed), one row each, with a ``ranking`` column."""
    import dataclasses

    pd = _pandas()
    seen: set[str] = set()
    rows = [{"ranking": "this run", **dataclasses.asdict(result.this_run)}]
    for ranking, places in (("cleanest", result.cleanest), ("cheapest", result.cheapest)):
        for p in places:
            if p.key not in seen:
                seen.add(p.key)
                rows.append({"ranking": ranking, **dataclasses.asdict(p)})
    df = pd.DataFrame(rows)
    df.attrs["units"] = {"co2_kg": "kg CO2e", "co2_saving_kg": "kg CO2e", "carbon_intensity_g_per_kwh": "g/kWh",
                         "price_per_kwh": "currency/kWh", "cost": "currency", "cost_saving": "currency"}
    return df


def efficiency_frame(efficiency: Any) -> Any:
    """``writer.efficiency()`` (stage -> unit -> :class:`~greenops_tb.format.workunits.Efficiency`) as a DataFrame:
    one row per stage and unit, with J and gCO2e per unit, units per kWh and per 1,000 units."""
    pd = _pandas()
    rows = [e.to_json() for units in efficiency.values() for e in units.values()]
    df = pd.DataFrame(rows, columns=["stage", "unit", "count", "energy_kwh", "co2_kg", "j_per_unit", "g_per_unit",
                                     "units_per_kwh", "kj_per_1k", "g_per_1k"])
    df.attrs["units"] = {"energy_kwh": "kWh", "co2_kg": "kg CO2e", "j_per_unit": "J", "g_per_unit": "g CO2e",
                         "units_per_kwh": "1/kWh", "kj_per_1k": "kJ", "g_per_1k": "g CO2e"}
    return df
