"""``greenops-tb compare RUN_A RUN_B ...``: runs side by side, with ratios to the first run.

Each RUN is a run directory (or a logdir holding one green run) or a live CSV.
Rows are the run totals and each stage's energy; the ratio columns are
``run / RUN_A`` (below 1 means less than the first run).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Mapping, Sequence

from greenops_tb import display
from greenops_tb.analysis.run_summary import headline, json_safe, summarize
from greenops_tb.format.workunits import comparison_text
from greenops_tb.readers.runs import LOADERS, InputError, load_run, report_malformed

METRICS = (
    ("duration_s", "duration_s"),
    ("energy_kwh", "energy_kWh"),
    ("facility_energy_kwh", "facility_kWh"),
    ("co2_kg", "CO2_kg"),
    ("cost", "cost"),
    ("avg_power_w", "power_W"),
    ("renewable_share", "renewable_share"),
    ("embodied_kg", "embodied_CO2_kg"),  # beside CO2_kg, never in it
    ("water_onsite_l", "water_onsite_L"),
    ("water_offsite_l", "water_offsite_L"),
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare", help="runs side by side with ratios to the first",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories or live CSVs (at least two)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--loader", choices=LOADERS, default="auto", help="TensorBoard loader (default: auto)")
    p.set_defaults(func=run)


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``; None when either is unknown or the base is zero."""
    if value is None or base is None or base == 0:
        return None
    return value / base


def comparison(heads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric (and per stage energy): values per run and ratios to the first run."""
    stages: list[str] = []
    for h in heads:
        stages += [s for s in h["stage_energy_kwh"] if s not in stages]
    rows = [(label, [h.get(key) for h in heads]) for key, label in METRICS]
    rows += _efficiency_rows(heads)
    rows += [(f"{s}_energy_kWh", [h["stage_energy_kwh"].get(s) for h in heads]) for s in stages]
    return [{"metric": label, "values": vals, "ratios": [ratio(v, vals[0]) for v in vals[1:]]} for label, vals in rows]


def _efficiency_rows(heads: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[float | None]]]:
    """J and gCO2e per unit of the runs' headline efficiencies, when every run has one in the same unit."""
    effs = [e for e in (h.get("efficiency") for h in heads) if e]
    units = {e["unit"] for e in effs}
    if len(effs) != len(heads) or len(units) != 1:
        return []
    unit = units.pop()
    return [(f"J_per_{unit}", [e["j_per_unit"] for e in effs]), (f"gCO2e_per_{unit}", [e["g_per_unit"] for e in effs])]


def efficiency_lines(labels: list[str], heads: Sequence[Mapping[str, Any]]) -> list[str]:
    """``run B: 37% less energy per sample than run A`` (headline efficiencies in one unit)."""
    rows = _efficiency_rows(heads)
    if not rows:
        return []
    return comparison_text(rows[0][0].removeprefix("J_per_"), labels, rows[0][1])


#: JSON metric label -> (text label, how its values read); stage energies "<stage>_energy_kWh" read as energy
_TEXT = {
    "duration_s": ("duration", display.format_duration),
    "energy_kWh": ("energy", display.format_energy),
    "facility_kWh": ("facility energy", display.format_energy),
    "CO2_kg": ("CO2e", display.format_co2),
    "cost": ("cost", display.sig),  # replaced per call by the runs' currency (render)
    "power_W": ("power", display.format_power),
    "renewable_share": ("renewable share", display.format_share),
    "embodied_CO2_kg": ("embodied CO2e", display.format_co2),
    "water_onsite_L": ("water on-site", display.format_volume),
    "water_offsite_L": ("water off-site", display.format_volume),
}
#: per-unit efficiency rows (J_per_sample, gCO2e_per_sample): label prefix and how their values read
_PER_UNIT = {"J_per_": ("energy per ", display.format_joules),
             "gCO2e_per_": ("CO2e per ", lambda g: display.format_co2(g / 1000))}
_STAGE_ENERGY = "_energy_kWh"


def _label(metric: str, currency: str) -> tuple[str, Callable[[float], str]]:
    """A JSON metric's text label and formatter (greenops_tb.display)."""
    if metric == "cost":
        return "cost", lambda c: display.format_cost(c, currency)
    if metric in _TEXT:
        return _TEXT[metric]
    if metric.endswith(_STAGE_ENERGY):
        return f"{metric[:-len(_STAGE_ENERGY)]} energy", display.format_energy
    prefix = next((p for p in _PER_UNIT if metric.startswith(p)), None)
    if prefix is not None:
        label, fmt = _PER_UNIT[prefix]
        return label + metric.removeprefix(prefix), fmt
    return metric, display.sig


def _text_row(metric: str, values: list[float | None], ratios: list[float | None], currency: str = "") -> list[str]:
    """A comparison row as text: SI-scaled values (greenops_tb.display), ratios to 4 significant digits."""
    label, fmt = _label(metric, currency)
    return [label] + ["-" if v is None else fmt(v) for v in values] + ["-" if x is None else display.sig(x) for x in ratios]


def render(labels: list[str], rows: list[dict[str, Any]], currency: str = "") -> str:
    head = ["metric"] + labels + [f"{lab} / {labels[0]}" for lab in labels[1:]]
    table = [head] + [_text_row(r["metric"], r["values"], r["ratios"], currency) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


def run(args: argparse.Namespace) -> int:
    if len(args.runs) < 2:
        print("greenops-tb compare: give at least two runs (run directories or live CSVs)", file=sys.stderr)
        return 2
    try:
        loaded = [load_run(a, args.loader) for a in args.runs]
        for data in loaded:
            report_malformed(data)
        heads = [headline(summarize(data)) for data in loaded]
    except InputError as err:
        print(f"greenops-tb compare: {err}", file=sys.stderr)
        return 2
    empty = [h["run"] for h in heads if not h["has_records"]]
    if empty:
        print(f"greenops-tb compare: no records in {', '.join(empty)}", file=sys.stderr)
        return 2
    currencies = {h["currency"] for h in heads if h.get("cost") is not None and h["currency"]}  # of known costs
    rows = comparison(heads)
    labels = [h["run"] for h in heads]
    if args.json:
        json.dump(json_safe({"runs": labels, "currencies": sorted(currencies), "rows": rows,
                             "efficiency": efficiency_lines(labels, heads)}), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(render(labels, rows, next(iter(currencies)) if len(currencies) == 1 else ""))
    for line in efficiency_lines(labels, heads):
        print(line)
    if len(currencies) > 1:
        print(f"note: costs are in different currencies ({', '.join(sorted(currencies))}); their ratios mix units")
    return 0
