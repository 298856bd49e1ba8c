"""The CSV layout of a record: columns, cell text, and rows read back into records.

The CSV has the base columns (one or more per record field, laid out as
:data:`greenops_tb.format.fields.FIELDS` says) plus one column per watched value
known when the header was written ("watch:<name>"). Watched keys that first appear
after the header was written go to the "watched_extra" JSON column, so nothing
is lost and the header is written exactly once (crash safety). Rows are
written by :class:`greenops_tb.format.forms.RowForm` and read back by :func:`row_to_record`.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

from greenops_tb.format.fields import BASE_COLUMNS as BASE_COLUMNS
from greenops_tb.format.fields import FIELDS, Cell, Field, Kind
from greenops_tb.format.fields import MIX_PREFIX as MIX_PREFIX
from greenops_tb.format.fields import RESUME_COLUMNS as RESUME_COLUMNS
from greenops_tb.format.fields import WATCH_PREFIX as WATCH_PREFIX
from greenops_tb.format.schema import DeviceEnergy, Record, in_range

#: Appended after the watch columns when the hash chain is enabled.
CHAIN_COLUMN = next(f.name for f in FIELDS if f.cell is Cell.CHAIN)
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


def column_problems(header: list[str]) -> tuple[list[str], list[str]]:
    """(unknown columns, missing base columns) of a CSV header, compared with what the writer writes."""
    known = set(BASE_COLUMNS) | {CHAIN_COLUMN}
    unknown = [c for c in header if c not in known and not c.startswith(WATCH_PREFIX)]
    missing = [c for c in BASE_COLUMNS if c not in header]
    return unknown, missing


def format_float(x: float | None) -> str:
    """Shortest round-tripping text for a float; '' for None; 'nan'/'inf'/'-inf' kept."""
    if x is None:
        return ""
    return repr(float(x))


def parse_float(s: str) -> float | None:
    return None if s == "" else float(s)


#: what a spreadsheet may run as a formula when a cell starts with it (fullwidth forms included)
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: a neutralised cell: the guard quote, then text that starts with quotes or none and a formula lead
_LEAD_CLASS = "[" + re.escape("".join(_FORMULA_LEAD)) + "]"
NEUTRALISED = "^'+" + _LEAD_CLASS
_QUOTED_LEAD = re.compile("'*" + _LEAD_CLASS).match  # quotes or none, then a lead


def neutralise_text(s: str) -> str:
    """Prefix text a spreadsheet would execute as a formula with a single quote (and text that would read
    back as such a prefixed cell: a quote before one of them), so that :func:`unneutralise_text` undoes it."""
    return "'" + s if s.startswith(_FORMULA_LEAD) or (s.startswith("'") and _QUOTED_LEAD(s)) else s


def unneutralise_text(s: str) -> str:
    return s[1:] if s.startswith("'") and _QUOTED_LEAD(s, 1) else s


# -- reading rows back: one decoder per kind of cell ----------------------------------
_ONE: dict[Kind, Callable[[str], Any]] = {
    Kind.TEXT: unneutralise_text, Kind.INT: lambda s: int(s) if s else 0,
    Kind.FLOAT: lambda s: float(s) if s else 0.0, Kind.MAYBE_FLOAT: parse_float,
}


def _one(f: Field, row: Mapping[str, str]) -> Any:
    return _ONE[f.kind](row.get(f.name) or "")


def _keyed(prefix: str, row: Mapping[str, str]) -> dict[str, float]:
    """``{key: float}`` of the non-empty ``<prefix><key>`` cells."""
    return {k[len(prefix):]: float(v) for k, v in row.items() if k and k.startswith(prefix) and v not in ("", None)}


def _json_numbers(cell: str | None) -> dict[str, float]:
    return {k: float(v) for k, v in json.loads(cell).items()} if cell else {}


def _watched(f: Field, row: Mapping[str, str]) -> dict[str, float]:
    watched = _keyed(WATCH_PREFIX, row)
    watched.update(_json_numbers(row.get(f.columns[0])))
    return watched


def _devices(f: Field, row: Mapping[str, str]) -> dict[str, DeviceEnergy]:
    cell = row.get(f.columns[-1])  # the JSON cell; the provenance summary is derived from it
    return {k: DeviceEnergy.from_json(v) for k, v in json.loads(cell).items()} if cell else {}


_DECODE: dict[Cell, Callable[[Field, Mapping[str, str]], Any]] = {
    Cell.ONE: _one, Cell.CHAIN: _one, Cell.SPREAD: lambda f, row: _keyed(f.name + "_", row),
    Cell.JSON: lambda f, row: _json_numbers(row.get(f.columns[0])), Cell.WATCH: _watched, Cell.DEVICES: _devices,
    Cell.NONE: lambda f, row: {},
}


def row_to_record(row: Mapping[str, str]) -> Record:
    """Inverse of :func:`greenops_tb.format.rows.record_to_row` for a full-width row (a dict from
    ``csv.DictReader``). Columns missing from a narrowed CSV get neutral defaults (0.0, '' or None).
    """
    missing = REQUIRED_COLUMNS - row.keys()
    if missing:
        raise ValueError(f"CSV row lacks required columns {sorted(missing)}; was it written with csv_columns=...?")
    kw: dict[str, Any] = {}
    for f in FIELDS:
        kw[f.name] = kw[f.fallback] if f.fallback and f.name not in row else _DECODE[f.cell](f, row)
    return Record(**kw)


def decode_rows(header: list[str], rows: Iterable[list[str]]) -> tuple[list[Record], int, str]:
    """(records of ``rows``, how many malformed rows were skipped, what was wrong with the first);
    ValueError when ``header`` is not a green CSV's."""
    missing = REQUIRED_COLUMNS - set(header)
    if header and missing:
        raise ValueError(f"not a green CSV: the header lacks {sorted(missing)}")
    out: list[Record] = []
    skipped, first = 0, ""
    for i, cells in enumerate(rows):
        try:
            if len(cells) != len(header):
                raise ValueError(f"{len(cells)} cells, the header has {len(header)}")
            out.append(in_range(row_to_record(dict(zip(header, cells)))))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            skipped += 1
            first = first or f"data row {i + 1} (line {i + 2}): {err}"
    return out, skipped, first
