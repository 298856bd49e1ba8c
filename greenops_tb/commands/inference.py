"""``greenops-tb inference LOGDIR --requests-per-day N``: an inference bench's variants and what they cost at a volume.

LOGDIR is the log_dir an ``InferenceBench`` ran in (it holds ``inference.json`` and one run per variant). Per
variant and batch size: J per request with its range (measurement and repeat spread), latency p50 and p95, the
comparison with the baseline (a ratio, or "within noise" when the ranges of the rounds overlap) and whether the
outputs match the baseline's; then, at N requests a day, kWh, CO2e, cost and water per year (each with its range),
compute hours per day (p50 latency x N / batch size / 3600) and the saving against the baseline. Variants whose
outputs differ are flagged and never recommended; variants that could not be built are listed with the reason.
See :mod:`greenops_tb.analysis.inference` and :mod:`greenops_tb.analysis.projection`.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from greenops_tb.analysis.inference import BASELINE, BenchResult, Projected, bench_result, result_json
from greenops_tb.analysis.run_summary import json_safe
from greenops_tb.analysis.uncertainty import Range
from greenops_tb.display import format_co2, format_cost, format_energy, format_joules, format_latency, sig
from greenops_tb.readers.bench import read_bench
from greenops_tb.readers.runs import LOADERS, InputError

DEFAULT_REQUESTS_PER_DAY = 1_000_000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("inference", help="an inference bench: J per request per variant, and per year at a volume",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logdir", metavar="LOGDIR", help="the log_dir an InferenceBench ran in")
    p.add_argument("--requests-per-day", type=float, default=DEFAULT_REQUESTS_PER_DAY, metavar="N",
                   help=f"request volume to project to (default {DEFAULT_REQUESTS_PER_DAY:,})")
    p.add_argument("--json", action="store_true", help="print JSON (raw SI numbers) instead of tables")
    p.add_argument("--loader", choices=LOADERS, default="auto", help="TensorBoard loader (default: auto)")
    p.set_defaults(func=run)


def _rng(r: Range | None, fmt: Callable[[float], str]) -> str:
    return "unknown" if r is None else f"{fmt(r.value)} ({fmt(r.low)}–{fmt(r.high)})"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _cost(r: Range | None, currency: str) -> str:
    return "unknown" if r is None else f"{format_cost(r.value, currency)} ({sig(r.low, 3)}–{sig(r.high, 3)})"


def _saving(p: Projected) -> str:
    if p.result.comparison == BASELINE:
        return "—"
    return f"{format_energy(p.saving_kwh_per_year)}/y ({p.saving_rel:+.0%}), {sig(p.saving_compute_hours_per_day, 3)} h/day"


def render(result: BenchResult, projected: list[Projected]) -> str:
    variants = len({v.variant for v in result.variants})
    lines = [f"inference bench on {result.device}: {variants} variants, {result.rounds} interleaved rounds of "
             f"{result.requests} requests; baseline {result.baseline}; outputs match when {result.tolerance}"]
    lines += [f"note: {n}" for n in result.notes]
    for b in sorted({v.batch_size for v in result.variants}):
        head = ["variant", "J/request (range)", "p50", "p95", "vs baseline", "outputs", ""]
        rows = [head] + [[v.variant, _rng(v.j_per_request, format_joules), format_latency(v.latency_p50_s),
                          format_latency(v.latency_p95_s), v.comparison,
                          "match" if v.outputs_match else f"DIFFER (max abs {sig(v.max_abs_diff, 3)}) {v.note}".strip(),
                          "recommended" if v.recommended else ""]
                         for v in result.variants if v.batch_size == b]
        lines += ["", f"batch size {b}:", _table(rows)]
    n = projected[0].requests_per_day if projected else 0
    head = ["variant", "batch", "kWh/year (range)", "CO2e/year (range)", "cost/year (range)", "water/year",
            "compute h/day", "saving vs baseline"]
    rows = [head] + [[p.result.variant, str(p.result.batch_size), _rng(p.year.kwh, format_energy),
                      _rng(p.year.co2_kg, format_co2), _cost(p.year.cost, p.result.per_kwh.currency),
                      _rng(p.year.water_l, lambda x: f"{sig(x, 3)} L"), sig(p.year.compute_hours_per_day, 4),
                      _saving(p)] for p in projected]
    lines += ["", f"at {n:,.0f} requests per day:", _table(rows)]
    if result.not_built:
        lines += ["", "not built:"] + [f"  {x.variant}: {x.reason}" for x in result.not_built]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.requests_per_day >= 0 or args.requests_per_day == float("inf"):
        print("greenops-tb inference: --requests-per-day must be a finite number >= 0", file=sys.stderr)
        return 2
    try:
        result = bench_result(*read_bench(args.logdir, args.loader))
    except (InputError, ValueError) as err:
        print(f"greenops-tb inference: {err}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(json_safe(result_json(result, args.requests_per_day)), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(render(result, result.at_scale(args.requests_per_day)))
    return 0
