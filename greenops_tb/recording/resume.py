"""Re-opening a run continues it: what the last complete records on disk say the run has done so far.

When a writer opens a CSV that already holds records (the same ``log_dir``, or ``csv_path=``), its
:class:`Stages` start from :func:`from_csv`'s :class:`Resumed` instead of from zero:

* ``seq`` continues after the last complete row; every record says which opening wrote it
  (``resume``: 0 for the first opening, then 1, 2, ...);
* each stage's step continues after its last record's step (so TensorBoard never sees a step go
  back: its data server drops records whose step goes back, as orphans of a crash) and its epoch
  counter after its last epoch, unless ``step=``/``epoch=`` are given;
* the stage and run running totals (``stage_*``, ``run_*``) continue from the last records, so
  every reader that takes a run's totals from its last record reports the whole run;
* the run metadata lists every opening (when it started, its location and each device's source).

The CSV is the record of what was done: with ``csv_path=False`` a re-opened log dir is not
continued. Openings may differ in location or meters (a resumed job on another machine): each
record keeps its own location, intensity and provenance, and the totals simply add up.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from greenops_tb.analysis.latest import by_stage
from greenops_tb.format.schema import DEVICE_KINDS, Record


@dataclass(frozen=True, slots=True)
class Seed:
    """Running totals (and, for a stage, its counters) to continue from."""

    records: int
    duration: float
    kwh: float
    by_kind: dict[str, float]
    facility: float
    co2: float
    cost: float | None
    mix: dict[str, float]
    by_device: dict[str, float] = field(default_factory=dict)  # IT kWh per device id
    next_step: int = 0
    epoch: int = -1
    samples: int = 0  # a stage's work units counted so far
    tokens: int = 0
    #: the footprint's running totals (embodied kg, on-site L, off-site L; None = unknown) and embodied kg per part
    footprint: tuple[float | None, float | None, float | None] = (None, None, None)
    embodied_kg_by_device: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resumed:
    """Where a re-opened run continues: its opening number, the stages' and the run's seeds, past openings."""

    index: int  # this opening's ``resume`` value
    stages: dict[str, Seed]
    run: Seed
    openings: list[dict[str, Any]] = field(default_factory=list)


def _seed(recs: list[Record], duration: float, kwh: float, co2: float, cost: float | None, scale: float = 1.0,
          footprint: tuple[float | None, float | None, float | None] = (None, None, None), **counters: int) -> Seed:
    by_kind = {k: 0.0 for k in DEVICE_KINDS}
    mix: dict[str, float] = defaultdict(float)
    by_device: dict[str, float] = defaultdict(float)
    embodied: dict[str, float] = defaultdict(float)
    for r in recs:
        for part, kg in r.embodied_kg_by_device.items():
            embodied[part] += kg * scale
        by_kind["gpu"] += r.energy_kwh_gpu * scale
        by_kind["cpu"] += r.energy_kwh_cpu * scale
        by_kind["ram"] += r.energy_kwh_ram * scale
        for s, v in r.mix_kwh.items():
            mix[s] += v * scale
        for d, e in r.devices.items():
            by_device[d] += e.energy_kwh * scale
    facility = sum(r.facility_energy_kwh for r in recs) * scale
    return Seed(len(recs), duration, kwh, by_kind, facility, co2, cost, dict(mix), dict(by_device), footprint=footprint,
                embodied_kg_by_device=dict(embodied), **counters)


def resumed(records: list[Record]) -> Resumed | None:
    """How to continue after ``records`` (the complete rows on disk, in file order); None when there are none."""
    if not records:
        return None
    stages = {
        name: _seed(rs, rs[-1].stage_duration_s, rs[-1].stage_energy_kwh, rs[-1].stage_co2_kg, rs[-1].stage_cost,
                    footprint=(rs[-1].stage_embodied_kg, rs[-1].stage_water_onsite_l, rs[-1].stage_water_offsite_l),
                    # the run's axis never goes back: continue after the highest step on either count
                    next_step=max(max(r.step, r.stage_step) for r in rs) + 1, epoch=rs[-1].epoch,
                    samples=rs[-1].stage_samples, tokens=rs[-1].stage_tokens)
        for name, rs in by_stage(records).items()
    }
    last = max(records, key=lambda r: r.seq)
    summed = sum(r.energy_kwh for r in records)
    # overlapping stages count a joule in each: the run's splits are the records' shares of the run total
    scale = last.run_energy_kwh / summed if summed > 0 else 1.0
    run = _seed(records, last.run_duration_s, last.run_energy_kwh, last.run_co2_kg, last.run_cost, scale,
                footprint=(last.run_embodied_kg, last.run_water_onsite_l, last.run_water_offsite_l))
    openings: dict[int, dict[str, Any]] = {}
    for r in records:
        o = openings.setdefault(r.resume, {"resume": r.resume, "started_at": r.start_time, "location": r.location,
                                           "devices": {d: e.provenance for d, e in r.devices.items()},
                                           "records": 0})
        o["records"] += 1
    return Resumed(max(openings) + 1, stages, run, [openings[k] for k in sorted(openings)])


def from_csv(path: str | os.PathLike[str]) -> Resumed | None:
    """:func:`resumed` for the complete rows of a green CSV (malformed rows are left out)."""
    from greenops_tb.readers.csv import read_records_counted

    records, _, _ = read_records_counted(path)
    return resumed(records)
