"""``greenops-tb whatif RUN``: the same run's energy re-priced in every zone and cloud region of the dataset.

RUN is a run directory (or a logdir holding one green run) or a live CSV. Ranks the cleanest and the
cheapest places with absolute and relative savings against this run, each with its data year and basis
(see :mod:`greenops_tb.analysis.elsewhere`). ``--pue`` prices every place (this run too) at another PUE.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from greenops_tb import display
from greenops_tb.analysis.elsewhere import SCOPES, Place, WhatIf, whatif
from greenops_tb.analysis.run_summary import json_safe
from greenops_tb.readers.runs import LOADERS, InputError, load_run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("whatif", help="the same run elsewhere: CO2e and cost in every zone and cloud region",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="a run directory or a live CSV")
    p.add_argument("--top", type=int, default=10, metavar="N", help="places per ranking (default 10)")
    p.add_argument("--cloud", metavar="PROVIDERS", help="only cloud regions of these providers, e.g. aws,gcp,azure")
    p.add_argument("--country", metavar="CODES", help="only places in these countries (ISO alpha-2), e.g. DE,FR,SE")
    p.add_argument("--scope", choices=SCOPES, default="world",
                   help="world: every zone and cloud region (default); choices: cloud regions and zones near the run's")
    p.add_argument("--basis", choices=("production", "consumption-lifecycle"), help="only values of this basis")
    p.add_argument("--pue", type=float, help="price every place at this PUE (default: the run's)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--loader", choices=LOADERS, default="auto", help="TensorBoard loader (default: auto)")
    p.set_defaults(func=run)


def _split(text: str | None) -> list[str] | None:
    return [t for t in text.split(",") if t.strip()] if text else None


def _line(i: int | str, x: Place, cost: bool) -> list[str]:
    """A place as a table row in the one number format; savings worded as savings (greenops_tb.display)."""
    money = "-" if x.cost is None else display.format_cost(x.cost, x.currency)
    if cost:
        saving = "-" if x.cost_saving_rel is None else display.format_saving(x.cost_saving_rel, display.format_share)
    else:
        saving = display.format_saving(x.co2_saving_kg, display.format_co2, x.co2_saving_rel)
    return [str(i), x.key, x.name[:34], display.format_co2(x.co2_kg), display.sig(x.carbon_intensity_g_per_kwh),
            money, saving, "-" if x.water_offsite_l is None else display.format_volume(x.water_offsite_l),
            f"{x.intensity_source} ({x.basis})"]


def _table(title: str, rows: list[list[str]]) -> str:
    head = ["#", "place", "name", "CO2e", "gCO2e/kWh", "cost", "vs this run", "water off-site", "data (basis)"]
    rows = [head] + rows
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return title + "\n" + "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def render(w: WhatIf) -> str:
    t = w.this_run
    lines = [f"run {w.run}: {display.format_energy(w.energy_kwh)} IT, PUE {w.pue:g} -> "
             f"{display.format_energy(w.facility_energy_kwh)}; "
             f"here {t.key} ({t.intensity_source}, {t.basis}) {display.format_co2(t.co2_kg)}; "
             f"rank {w.rank} of {w.places + 1} places by CO2e"]
    lines.append(_table("cleanest:", [_line(i + 1, x, False) for i, x in enumerate(w.cleanest)]))
    if w.cheapest:
        rows = [_line(i + 1, x, True) for i, x in enumerate(w.cheapest)]
        lines.append(_table("cheapest (where a price is known):", rows))
    lines += [f"note: {n}" for n in w.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        print("greenops-tb whatif: --top must be at least 1", file=sys.stderr)
        return 2
    try:
        data = load_run(args.run, args.loader)
        result = whatif(data.records, run=data.run, pue=args.pue, top=args.top, clouds=_split(args.cloud),
                        countries=_split(args.country), basis=args.basis, scope=args.scope)
    except (InputError, ValueError) as err:
        print(f"greenops-tb whatif: {err}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(json_safe(asdict(result)), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(render(result))
    return 0
