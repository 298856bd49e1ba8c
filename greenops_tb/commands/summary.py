"""``greenops-tb summary LOGDIR``: per run and stage, duration, energy, CO2, cost, source mix, CO2 by source, provenance
and GPU context.

The numbers are the Green tab's (:func:`greenops_tb.analysis.run_summary.summarize`
over the same reader). ``--forecast STAGE --total-steps N`` (or ``--total-epochs``)
adds a projection with its uncertainty band (:mod:`greenops_tb.analysis.forecast`).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any, Callable, Mapping, Sequence

from greenops_tb import display
from greenops_tb.analysis.forecast import forecast
from greenops_tb.analysis.run_summary import json_safe, summarize
from greenops_tb.footprint.view import footprint_lines
from greenops_tb.format.workunits import EFFICIENCY_FIELDS, Efficiency
from greenops_tb.readers.events import RunData
from greenops_tb.readers.runs import LOADERS, InputError, open_logdir, report_malformed


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("summary", help="table per run and stage: time, kWh, CO2, cost, mix, provenance",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logdir", help="TensorBoard logdir written by GreenSummaryWriter")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--runs", metavar="PATTERN", help="only runs matching this shell pattern")
    p.add_argument("--forecast", metavar="STAGE", help="project this stage to --total-steps or --total-epochs")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--total-steps", type=int, metavar="N", help="planned total steps of the forecast stage")
    group.add_argument("--total-epochs", type=float, metavar="N", help="planned total epochs of the forecast stage")
    p.add_argument("--loader", choices=LOADERS, default="auto", help="TensorBoard loader (default: auto)")
    p.set_defaults(func=run)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


_HEAD = ["stage", "records", "time", "energy", "CO2e", "cost", "power", "renewable"]


def _row(name: str, t: Mapping[str, Any], records: int, currency: str) -> list[str]:
    """A table row in the one number format (greenops_tb.display); ``--json`` keeps raw SI numbers."""
    return [name, str(records), display.format_duration(t["duration_s"]), display.format_energy(t["energy_kwh"]),
            display.format_co2(t["co2_kg"]), display.format_cost(t["cost"], currency),
            display.format_power(t["avg_power_w"]), display.format_share(t["renewable_share"])]


def context_text(context: Mapping[str, Mapping[str, float | None]]) -> str:
    """A device's context as the Green tab shows it: ``util 87 %, mem 12.0 GB (peak 12.5 GB)``, other keys by mean."""
    parts = []
    util, mem = context.get("util_pct"), context.get("mem_used_gb")
    if util and util["mean"] is not None:
        parts.append(f"util {util['mean']:.0f} %")
    if mem and mem["last"] is not None:
        peak = f" (peak {mem['max']:.1f} GB)" if mem["max"] is not None and f"{mem['max']:.1f}" != f"{mem['last']:.1f}" else ""
        parts.append(f"mem {mem['last']:.1f} GB{peak}")
    parts += [f"{k} {v['mean']:.3g}" for k, v in sorted(context.items())
              if k not in ("util_pct", "mem_used_gb") and v["mean"] is not None]
    return ", ".join(parts)


def co2_by_source_text(co2_by_source_kg: Mapping[str, float]) -> str:
    """Shares of the CO2 by source, largest first: ``coal 61%, gas 22%, oil <1%``; ``unknown`` without a mix."""
    total = sum(co2_by_source_kg.values())
    if total <= 0:
        return "unknown"
    ranked = sorted(co2_by_source_kg.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {v / total:.0%}" if v / total >= 0.005 else f"{k} <1%" for k, v in ranked)


def ranges_text(r: Mapping[str, Any]) -> str:
    """``range: energy 1.200 kWh (1.100 kWh to 1.300 kWh), CO2e ...`` (the rule is in docs/METHOD.md)."""
    def one(x: Mapping[str, float], fmt: Callable[[float], str]) -> str:
        return display.format_range(x["value"], x["low"], x["high"], fmt)

    return (f"range: energy {one(r['energy_kwh'], display.format_energy)}, CO2e {one(r['co2_kg'], display.format_co2)} "
            "(measurement, PUE and grid uncertainty; docs/METHOD.md)")


def efficiency_text(e: Mapping[str, Any]) -> str:
    """``12.3 J and 4.1 mg CO2e per sample (2.9e+05 samples/kWh)`` (:mod:`greenops_tb.format.workunits`)."""
    return Efficiency(**{k: e[k] for k in EFFICIENCY_FIELDS}).text()


def _device(d: Mapping[str, Any]) -> str:
    how = "measured" if d["measured"] else "modelled"
    ctx = context_text(d.get("context", {}))
    return f"{d['device']} {d['provenance']} ({how}{'; ' + ctx if ctx else ''})"


def render(summary: Mapping[str, Any]) -> str:
    """A run's summary as text: header line, stage table, mix and device provenance."""
    if not summary.get("has_records"):
        skipped = summary.get("malformed_skipped")
        return f"run {summary['run']}: no records" + (f" ({skipped} malformed records skipped)" if skipped else "")
    loc = summary["location"]
    price = summary["price"]
    job = job_key(summary)
    lines = [
        f"run {summary['run']}{f' (job {job})' if job else ''}: location {loc['zone']} {loc['name']} ({loc['source']}), "
        f"PUE {summary['pue']:g}, "
        f"{summary['carbon_intensity_g_per_kwh']:.4g} g/kWh ({summary['intensity_source']}), "
        + (f"price {display.sig(price['per_kwh'])} {price['currency']}/kWh ({price['source']})" if price["per_kwh"] is not None
           else "price unknown (give the writer price_per_kwh=, or set GREENOPS_PRICE_PER_KWH)"),
    ]
    cur = summary["currency"]
    rows = [_HEAD] + [_row(s["stage"], s, s["records_kept"], cur) for s in summary["stages"]]
    rows.append(_row("total", summary["totals"], summary["records_kept"], cur))
    lines.append(_table(rows))
    lines.append(ranges_text(summary["ranges"]["totals"]))
    eff = [f"{s['stage']} {efficiency_text(e)}" for s in summary["stages"] for e in s["efficiency"].values()]
    if eff:
        lines.append("efficiency: " + "; ".join(eff))
    mix = summary["mix_shares"]
    lines.append("mix: " + (", ".join(f"{k} {v:.1%}" for k, v in mix.items() if v > 0) or "unknown"))
    factors = summary.get("co2_by_source_factors")
    lines.append(f"CO2e by source: {co2_by_source_text(summary['co2_by_source_kg'])}"
                 + (f" ({factors.split(' (')[0]}; --json has the full citation)"
                    if factors and summary["co2_by_source_kg"] else ""))
    lines.append("devices: " + ", ".join(_device(d) for d in summary["devices"]))
    if "job" in summary:
        lines += job_lines(summary["job"])
    lines += footprint_lines(summary["footprint"])
    if not summary.get("splits_exact", summary["complete"]):
        lines.append(f"note: {summary['records_kept']} of {summary['records_emitted']} records kept; splits are scaled")
    return "\n".join(lines)


def job_lines(job: Mapping[str, Any]) -> list[str]:
    """A distributed job's ranks (energy, own time, how far behind) and hosts."""
    def rank_row(r: Mapping[str, Any]) -> list[str]:
        return [str(r["rank"]), r["host"] or "-", display.format_energy(r["energy_kwh"]),
                "-" if r["co2_kg"] is None else display.format_co2(r["co2_kg"]),
                "-" if r["duration_s"] is None else display.format_duration(r["duration_s"]),
                "-" if r["behind_s"] is None else display.format_duration(r["behind_s"])]

    missing = job["missing_ranks"]
    head = (f"job: {len(job['ranks'])} of {job['world_size']} ranks ({job['layout']})"
            + (f"; no records from ranks {', '.join(map(str, missing))}" if missing else ""))
    ranks = _table([["rank", "host", "energy", "CO2e", "time", "behind"], *map(rank_row, job["ranks"])])
    hosts = "hosts: " + ", ".join(f"{h['host']} (ranks {', '.join(map(str, h['ranks']))}) "
                                  f"{display.format_energy(h['energy_kwh'])}" for h in job["hosts"])
    return [head, ranks, hosts]


def job_key(summary: Mapping[str, Any]) -> str | None:
    """The scheduler job a run belongs to (``RunMetadata.extra["job"]["key"]``), None when none."""
    extra = (summary.get("metadata") or {}).get("extra") or {}
    key = (extra.get("job") or {}).get("key")
    return str(key) if key else None


def jobs_text(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per job with several runs (SLURM array tasks and steps, torchrun restarts): their totals."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for s in summaries:
        if s.get("has_records") and job_key(s):
            groups.setdefault(str(job_key(s)), []).append(s)
    lines = []
    for job, runs in groups.items():
        if len(runs) > 1:
            kwh = sum(r["totals"]["energy_kwh"] for r in runs)
            co2 = sum(r["totals"]["co2_kg"] for r in runs)
            lines.append(f"job {job}: {len(runs)} runs ({', '.join(r['run'] for r in runs)}), "
                         f"{display.format_energy(kwh)}, {display.format_co2(co2)}")
    return lines


def summarize_run(data: RunData, args: argparse.Namespace) -> dict[str, Any]:
    """The Green tab's summary of one run, plus the requested forecast (or why there is none)."""
    out: dict[str, Any] = dict(summarize(data))
    if args.forecast:
        recs = [r for r in data.records if r.stage == args.forecast]
        try:
            fc = forecast(recs, total_steps=args.total_steps, total_epochs=args.total_epochs)
            out["forecast"] = asdict(fc)
            out["forecast_text"] = fc.describe()
        except ValueError as err:
            out["forecast_error"] = f"no forecast for stage {args.forecast!r}: {err}"
    return out


def _check_forecast_stage(summaries: list[dict[str, Any]], stage: str | None) -> None:
    """A forecast stage no run has is a usage error that names the stages there are."""
    stages = sorted({st["stage"] for s in summaries for st in s.get("stages", ())})
    if stage and stage not in stages:
        raise InputError(f"--forecast {stage!r}: no run has that stage; stages: {', '.join(stages) or '(none)'}")


def run(args: argparse.Namespace) -> int:
    if args.forecast and args.total_steps is None and args.total_epochs is None:
        print("greenops-tb summary: --forecast needs --total-steps N or --total-epochs N", file=sys.stderr)
        return 2
    try:
        with open_logdir(args.logdir, args.loader) as logdir:
            summaries = []
            for data in logdir.read_all(logdir.select(args.runs)):
                report_malformed(data)
                summaries.append(summarize_run(data, args))
        for s in summaries:  # a run directory given as the logdir: named by the path given, as compare names it
            s["run"] = args.logdir if s["run"] == "." else s["run"]
        _check_forecast_stage(summaries, args.forecast)
    except InputError as err:
        print(f"greenops-tb summary: {err}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(json_safe(summaries), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for i, s in enumerate(summaries):
        if i:
            print()
        print(render(s))
        if "forecast_text" in s:
            print(s["forecast_text"])
        if "forecast_error" in s:
            print(s["forecast_error"])
    for line in jobs_text(summaries):
        print(line)
    return 0
