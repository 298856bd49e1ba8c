"""Generate large, realistic green logdirs for benchmarks and tests.

``N`` runs x ``M`` records each, written exactly as the writer writes them:
records built with :mod:`greenops_tb.format.schema`, turned into ONE summary each by
:func:`greenops_tb.sinks.events.record_summary`, and appended through torch's
``SummaryWriter`` file writer. Running totals (stage and run) are consistent,
stages alternate (``train`` with an ``eval`` interval every ``eval_every``
train steps), and values are drawn from a seeded RNG so a logdir is reproducible.

    python benchmarks/gen_logdir.py OUT --runs 50 --records 20000 [--csv] [--gpu]
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from greenops_tb.format.columns import csv_columns
from greenops_tb.format.schema import SOURCES, DeviceEnergy, Record, RunMetadata
from greenops_tb.format.rows import record_to_row
from greenops_tb.distributed.shard import csv_name
from greenops_tb.format.tags import rank_tag_suffix
from greenops_tb.sinks.events import metadata_summary, record_summary
from greenops_tb.format.units import J_PER_KWH

log = logging.getLogger(__name__)

#: a Germany-like grid: intensity (g/kWh), price (EUR/kWh) and generation shares
INTENSITY = 381.0
PRICE = 0.2531
MIX = {
    "coal": 0.25, "gas": 0.16, "oil": 0.01, "nuclear": 0.0, "hydro": 0.04,
    "wind": 0.31, "solar": 0.13, "bioenergy": 0.08, "other_renewable": 0.02,
}
WATCHED = ("loss", "lr")


@dataclass(frozen=True, slots=True)
class GenSpec:
    """What to generate; defaults give a small logdir."""

    runs: int = 2
    records: int = 1000  # per run, all stages together
    eval_every: int = 10  # one eval record after this many train records (0: train only)
    steps_per_epoch: int = 100
    gpu: bool = False
    csv: bool = False  # also write the live CSV (green.csv) next to the events
    seed: int = 0
    run_prefix: str = "run_"


class _Totals:
    __slots__ = ("duration", "energy", "co2", "cost")

    def __init__(self) -> None:
        self.duration = self.energy = self.co2 = self.cost = 0.0

    def add(self, duration: float, energy: float, co2: float, cost: float) -> None:
        self.duration += duration
        self.energy += energy
        self.co2 += co2
        self.cost += cost


def _metadata(run: str, spec: GenSpec, started: float) -> RunMetadata:
    devices = {"cpu:0": {"kind": "cpu", "name": "Synthetic CPU", "provenance": "model-tdp"},
               "ram": {"kind": "ram", "name": "RAM", "provenance": "model-ram"}}
    if spec.gpu:
        devices["gpu:0"] = {"kind": "gpu", "name": "Synthetic GPU", "provenance": "nvml-energy"}
    return RunMetadata(
        run=run, version="gen_logdir", started_at=started, host="generator", devices=devices,
        location="DE", location_name="Germany", location_source="argument:country", pue=1.1,
        carbon_intensity_g_per_kwh=INTENSITY, intensity_source="synthetic", mix_shares=dict(MIX),
        price_per_kwh=PRICE, currency="EUR", price_source="synthetic", dataset={"source": "benchmarks/gen_logdir.py"},
    )


def generate_records(run: str, spec: GenSpec, started: float = 1.7e9) -> list[Record]:
    """The ``spec.records`` records of one run, with consistent running totals."""
    rng = random.Random(f"{spec.seed}:{run}")
    pue = 1.1
    stage_tot = {"train": _Totals(), "eval": _Totals()}
    run_tot = _Totals()
    steps = {"train": 0, "eval": 0}
    since_eval = 0
    now = started
    out: list[Record] = []
    for seq in range(spec.records):
        stage = "eval" if spec.eval_every and since_eval >= spec.eval_every else "train"
        since_eval = 0 if stage == "eval" else since_eval + 1
        duration = rng.lognormvariate(-2.3, 0.15)  # ~0.1 s per step
        util = min(1.0, max(0.05, rng.gauss(0.7 if stage == "train" else 0.4, 0.05)))
        devices = {
            "cpu:0": DeviceEnergy("cpu", 65.0 * util * duration / J_PER_KWH, "model-tdp"),
            "ram": DeviceEnergy("ram", 3.0 * duration / J_PER_KWH, "model-ram"),
        }
        if spec.gpu:
            devices["gpu:0"] = DeviceEnergy("gpu", rng.uniform(180, 300) * duration / J_PER_KWH, "nvml-energy")
        by_kind = {k: sum(d.energy_kwh for d in devices.values() if d.kind == k) for k in ("gpu", "cpu", "ram")}
        energy = by_kind["gpu"] + by_kind["cpu"] + by_kind["ram"]
        facility = energy * pue
        co2 = facility * INTENSITY / 1000.0
        cost = facility * PRICE
        stage_tot[stage].add(duration, energy, co2, cost)
        run_tot.add(duration, energy, co2, cost)
        step = steps[stage]
        steps[stage] += 1
        st = stage_tot[stage]
        out.append(Record(
            run=run, stage=stage, seq=seq, step=step, epoch=step // spec.steps_per_epoch,
            start_time=now, end_time=now + duration, duration_s=duration,
            energy_kwh_gpu=by_kind["gpu"], energy_kwh_cpu=by_kind["cpu"], energy_kwh_ram=by_kind["ram"],
            energy_kwh=energy, facility_energy_kwh=facility, avg_power_w=energy * J_PER_KWH / duration,
            co2_kg=co2, cost=cost, currency="EUR", price_source="synthetic",
            carbon_intensity_g_per_kwh=INTENSITY, intensity_source="synthetic", location="DE",
            location_source="argument:country", pue=pue, mix_kwh={s: facility * MIX[s] for s in SOURCES},
            devices=devices,
            watched={"loss": 2.5 * (0.999 ** step) + rng.gauss(0, 0.02), "lr": 1e-3 * (0.5 ** (step // 1000))},
            stage_duration_s=st.duration, stage_energy_kwh=st.energy, stage_co2_kg=st.co2, stage_cost=st.cost,
            run_duration_s=run_tot.duration, run_energy_kwh=run_tot.energy, run_co2_kg=run_tot.co2,
            run_cost=run_tot.cost,
        ))
        now += duration
    return out


def write_run(run_dir: Path, records: list[Record], meta: RunMetadata, *, write_csv: bool = False,
              rank: int | None = None) -> None:
    """Append ``records`` to a run dir the way the writer does (one event per record; optional CSV); ``rank``:
    as that rank's shard of a distributed job (event file ``*.rank<k>``, tags ``@r<k>``, ``green.rank<k>.csv``)."""
    from torch.utils.tensorboard import SummaryWriter

    suffix = "" if rank is None else rank_tag_suffix(rank)
    writer = SummaryWriter(log_dir=str(run_dir), max_queue=1000, flush_secs=3600,
                           filename_suffix="" if rank is None else f".rank{rank}")
    try:
        fw = writer._get_file_writer()
        fw.add_summary(metadata_summary(meta, suffix), 0, meta.started_at)
        for rec in records:
            fw.add_summary(record_summary(rec, tag_suffix=suffix), rec.step, rec.end_time)
    finally:
        writer.close()
    if write_csv:
        cols = csv_columns(WATCHED)
        with open(run_dir / ("green.csv" if rank is None else csv_name(rank)), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(cols)
            w.writerows(record_to_row(r, cols) for r in records)


def generate(logdir: str | os.PathLike[str], spec: GenSpec = GenSpec()) -> list[Path]:
    """Write ``spec.runs`` runs under ``logdir``; returns the run directories."""
    root = Path(logdir)
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(root, spec, i) for i in range(spec.runs)]
    if spec.runs == 1:
        return [_one_run(*jobs[0])]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(spec.runs, os.cpu_count() or 1)) as pool:  # runs are independent
        return list(pool.map(_one_run, *zip(*jobs)))


def _one_run(root: Path, spec: GenSpec, i: int) -> Path:
    run = f"{spec.run_prefix}{i:03d}"
    started = 1.7e9 + i * 86400.0
    run_dir = root / run
    write_run(run_dir, generate_records(run, spec, started), _metadata(run, spec, started), write_csv=spec.csv)
    return run_dir


def cached(spec: GenSpec, cache_root: str | os.PathLike[str] | None = None) -> Path:
    """A logdir for ``spec``, generated once under ``benchmarks/out/cache`` (git-ignored) and reused afterwards."""
    root = Path(cache_root) if cache_root else Path(__file__).resolve().parent / "out" / "cache"
    name = (f"{spec.run_prefix}r{spec.runs}x{spec.records}_e{spec.eval_every}_p{spec.steps_per_epoch}"
            f"_g{int(spec.gpu)}_c{int(spec.csv)}_s{spec.seed}")
    out = root / name
    done = out / ".complete"
    if not done.exists():
        if out.exists():
            import shutil

            shutil.rmtree(out)
        t0 = time.perf_counter()
        generate(out, spec)
        done.write_text(f"{time.perf_counter() - t0:.1f} s\n")
    return out


def write_job(run_dir: str | os.PathLike[str], ranks: int, spec: GenSpec = GenSpec(), per_host: int = 8) -> Path:
    """A distributed job of ``ranks`` rank shards in ONE run dir (``spec.records`` records each), written as the
    ranks' writers write them, without launching any: each rank a GPU, CPU and RAM, ``per_host`` ranks a host."""
    import dataclasses

    from greenops_tb.distributed.shard import SHARD_LAYOUT

    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    for rank in range(ranks):
        records = generate_records(out.name, dataclasses.replace(spec, gpu=True), started=1.7e9 + rank * 1e-3)
        meta = _metadata(out.name, spec, 1.7e9)
        shard = {"layout": SHARD_LAYOUT, "rank": rank, "world_size": ranks, "local_rank": rank % per_host,
                 "host": f"node{rank // per_host}", "host_id": f"host{rank // per_host}", "launcher": "gen_logdir"}
        write_run(out, records, dataclasses.replace(meta, extra={"shard": shard}), write_csv=spec.csv, rank=rank)
    return out


def first_runs(logdir: Path, n: int) -> Path:
    """A logdir holding the first ``n`` runs of ``logdir`` (hard links, made once next to it): the same records
    as ``cached(GenSpec(runs=n, ...))`` would generate (runs are seeded by their name), without generating them."""
    out = logdir.with_name(f"{logdir.name}_first{n}")
    done = out / ".complete"
    if not done.exists():
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        for run in sorted(p for p in logdir.iterdir() if p.is_dir())[:n]:
            shutil.copytree(run, out / run.name, copy_function=os.link)
        done.write_text(f"first {n} runs of {logdir.name}\n")
    return out


def main(argv: list[str] | None = None) -> int:
    d = GenSpec()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("logdir", help="output logdir (created)")
    p.add_argument("--runs", type=int, default=d.runs)
    p.add_argument("--records", type=int, default=d.records, help="records per run")
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch)
    p.add_argument("--gpu", action="store_true", help="add a GPU device")
    p.add_argument("--csv", action="store_true", help="also write each run's live CSV (green.csv)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.runs < 1 or a.records < 1:
        p.error("--runs and --records must be >= 1")
    spec = GenSpec(runs=a.runs, records=a.records, eval_every=a.eval_every, steps_per_epoch=a.steps_per_epoch,
                   gpu=a.gpu, csv=a.csv, seed=a.seed)
    t0 = time.perf_counter()
    generate(a.logdir, spec)
    n = a.runs * a.records
    print(f"wrote {a.runs} runs x {a.records} records = {n} records to {a.logdir} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
