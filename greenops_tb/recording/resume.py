"""Re-opening a run continues it: what the CSV on disk says the run has done so far.

When a writer opens a CSV that already holds records (the same ``log_dir``, or ``csv_path=``), its
:class:`Stages` start from :func:`from_csv`'s :class:`Resumed` instead of from zero:

* ``seq`` continues after the last complete row; every record says which opening wrote it
  (``resume``: 0 for the first opening, then 1, 2, ...);
* each stage's step continues after its last record's step (so TensorBoard never sees a step go
  back: its data server drops records whose step goes back, as orphans of a crash) and its epoch
  counter after its last epoch, unless ``step=``/``epoch=`` are given;
* the stage and run running totals (``stage_*``, ``run_*``) continue, so every reader that takes a
  run's totals from its last record reports the whole run;
* the run metadata lists every opening (when it started, its location and each device's source).

Re-opening costs the same whatever the run's length: the totals at the end of the CSV are kept in a
checkpoint beside it (:mod:`greenops_tb.recording.checkpoint`, written at every opening and close), so
only the header, the checkpoint's last row and the rows after it (those of an opening that crashed)
are read. Without a valid checkpoint (a CSV from an older greenops_tb, or one changed since) every row
is read once, in bounded memory. The rows read are folded into the totals: a row that cannot be read
(not UTF-8, not one CSV row, a malformed, negative or non-finite number, or numbers no interval can have,
such as 1e308 kWh) is skipped and counted;
the run's running totals of the last row are used only when they are consistent with the rows read
(between the largest stage's total and the sum of the rows), else the sum is used; every skip and
fallback is named in one warning. ``csv_columns=`` always keeps the columns this needs
(:data:`~greenops_tb.format.columns.RESUME_COLUMNS`); a CSV that lacks the run's totals cannot be
continued, and says so.

The CSV is the record of what was done: with ``csv_path=False`` a re-opened log dir is not
continued. Openings may differ in location or meters (a resumed job on another machine): each
record keeps its own location, intensity and provenance, and the totals simply add up.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from greenops_tb.errors import ResumeError
from greenops_tb.format.columns import row_to_record
from greenops_tb.format.schema import DEVICE_KINDS, Record
from greenops_tb.format.tags import check_name
from greenops_tb.sinks.lines import complete_end, first_line, lines_forward, parse_row

#: without these, the rows cannot give the run's totals (the other resume columns default to 0)
TOTALS_COLUMNS = frozenset({"duration_s", "co2_kg", "cost", "run_duration_s", "run_energy_kwh", "run_co2_kg",
                            "run_cost"})


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


ZERO = Seed(0, 0.0, 0.0, dict.fromkeys(DEVICE_KINDS, 0.0), 0.0, 0.0, None, {})


@dataclass(frozen=True, slots=True)
class Resumed:
    """Where a re-opened run continues: its opening number, the stages' and the run's seeds, past openings."""

    index: int  # this opening's ``resume`` value
    stages: dict[str, Seed]
    run: Seed
    openings: list[dict[str, Any]] = field(default_factory=list)


def check_seed(s: Seed) -> None:
    """ValueError unless every total is a finite number >= 0 (and every count an int >= 0)."""
    numbers = [s.duration, s.kwh, s.facility, s.co2, s.cost, *s.footprint, *s.by_kind.values(), *s.mix.values(),
               *s.by_device.values(), *s.embodied_kg_by_device.values()]
    bad = [x for x in numbers if x is not None and not (isinstance(x, float) and math.isfinite(x) and x >= 0.0)]
    counts = (s.records, s.samples, s.tokens)
    if bad or not all(isinstance(c, int) and c >= 0 for c in counts) \
            or not isinstance(s.next_step, int) or not isinstance(s.epoch, int):
        raise ValueError(f"a total that is not a finite number >= 0: {bad[:1] or counts}")


def _plus(a: float | None, b: float | None) -> float | None:
    """a + b where None is unknown (a total stays None until a known value is added)."""
    return b if a is None else a if b is None else a + b


def _sum_into(acc: dict[str, float], part: dict[str, float], scale: float = 1.0) -> None:
    for k, v in part.items():
        acc[k] = acc.get(k, 0.0) + v * scale


class _Fold:
    """A seed plus the rows after it: one stage's (or the run's raw) sums."""

    def __init__(self, s: Seed = ZERO) -> None:
        self.records, self.duration, self.kwh, self.facility, self.co2, self.cost = \
            s.records, s.duration, s.kwh, s.facility, s.co2, s.cost
        self.by_kind, self.mix, self.by_device = dict(s.by_kind), dict(s.mix), dict(s.by_device)
        self.embodied, self.footprint = dict(s.embodied_kg_by_device), s.footprint
        self.samples, self.tokens, self.next_step, self.epoch = s.samples, s.tokens, s.next_step, s.epoch

    def add(self, r: Record) -> None:
        self.records += 1
        self.duration += r.duration_s
        self.kwh += r.energy_kwh
        self.facility += r.facility_energy_kwh
        self.co2 += r.co2_kg
        self.cost = _plus(self.cost, r.cost)
        for kind, kwh in zip(DEVICE_KINDS, (r.energy_kwh_gpu, r.energy_kwh_cpu, r.energy_kwh_ram)):
            self.by_kind[kind] = self.by_kind.get(kind, 0.0) + kwh
        _sum_into(self.mix, r.mix_kwh)
        _sum_into(self.by_device, {d: e.energy_kwh for d, e in r.devices.items()})
        _sum_into(self.embodied, r.embodied_kg_by_device)
        self.samples += r.samples
        self.tokens += r.tokens
        f = self.footprint
        self.footprint = (_plus(f[0], r.embodied_kg), _plus(f[1], r.water_onsite_l), _plus(f[2], r.water_offsite_l))
        # the run's axis never goes back: continue after the highest step on either count
        self.next_step = max(self.next_step, r.step + 1, r.stage_step + 1)
        self.epoch = r.epoch

    def seed(self) -> Seed:
        return Seed(self.records, self.duration, self.kwh, self.by_kind, self.facility, self.co2, self.cost, self.mix,
                    self.by_device, self.next_step, self.epoch, self.samples, self.tokens, self.footprint,
                    self.embodied)


_CHECKED = ("duration_s", "energy_kwh_gpu", "energy_kwh_cpu", "energy_kwh_ram", "energy_kwh", "facility_energy_kwh",
            "co2_kg", "cost", "stage_duration_s", "stage_energy_kwh", "stage_co2_kg", "stage_cost", "run_duration_s",
            "run_energy_kwh", "run_co2_kg", "run_cost", "samples", "tokens", "embodied_kg", "water_onsite_l",
            "water_offsite_l", "run_embodied_kg", "run_water_onsite_l", "run_water_offsite_l", "seq")


def checked_record(cells: list[str], header: list[str]) -> Record:
    """The record of one row; ValueError for a row that cannot be continued from (see the module docstring)."""
    if len(cells) != len(header):
        raise ValueError(f"{len(cells)} cells, the header has {len(header)}")
    try:
        r = row_to_record(dict(zip(header, cells)))
    except (KeyError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"{type(err).__name__}: {err}") from None
    check_name(r.stage)
    numbers = [getattr(r, name) for name in _CHECKED]
    numbers += [*r.mix_kwh.values(), *(e.energy_kwh for e in r.devices.values()), *r.embodied_kg_by_device.values()]
    bad = [x for x in numbers if x is not None and not (math.isfinite(x) and x >= 0)]
    if bad:
        raise ValueError(f"a number that is not finite and >= 0 ({bad[0]!r})")
    wrong = _implausible(r)
    if wrong:
        raise ValueError(wrong)
    return r


#: no job draws 100 MW: an interval's energy above that (finite, such as 1e308) is damage, not a measurement
MAX_POWER_W = 1e8


def _implausible(r: Record) -> str:
    """What makes an interval's numbers impossible ("" when nothing; a narrowed CSV's missing cells are 0)."""
    kinds = r.energy_kwh_gpu + r.energy_kwh_cpu + r.energy_kwh_ram
    if kinds > 0 and not math.isclose(kinds, r.energy_kwh, rel_tol=1e-6, abs_tol=1e-15):
        return f"energy_kwh {r.energy_kwh!r} is not the sum of its device kinds ({kinds!r})"
    if r.energy_kwh * 3.6e6 > MAX_POWER_W * max(r.duration_s, 1.0):
        return f"energy_kwh {r.energy_kwh!r} in {r.duration_s!r} s is more than {MAX_POWER_W:g} W"
    if r.end_time > 0 and r.duration_s > r.end_time - r.start_time + 3600:
        return f"duration_s {r.duration_s!r} is longer than its wall-clock interval"
    if r.pue > 0 and not math.isclose(r.facility_energy_kwh, r.energy_kwh * r.pue, rel_tol=1e-6, abs_tol=1e-15):
        return f"facility_energy_kwh {r.facility_energy_kwh!r} is not energy_kwh x pue"
    if r.facility_energy_kwh > 0 and r.co2_kg > 10.0 * r.facility_energy_kwh:
        return f"co2_kg {r.co2_kg!r} is more than 10 kg per facility kWh"
    return ""


def _run_total(name: str, cell: float | None, base: float | None, rows: float | None, floor: float,
               problems: list[str]) -> float | None:
    """The run's running total ``name`` from the last row when it lies between the largest stage's total
    (``floor``) and the rows' sum (``base + rows``), else that sum."""
    high = _plus(base, rows)
    if high is None:
        return None
    low = max(base or 0.0, floor)
    slack = 1e-6 * high + 1e-12
    if cell is not None and low - slack <= cell <= high + slack:
        return cell
    problems.append(f"the last row's run_{name} ({cell!r}) is not between the stages' {low:.6g} and the rows' "
                    f"sum {high:.6g}: continuing from the sum")
    return high


def _run_seed(base: Seed, rows: _Fold, stages: dict[str, _Fold], last: Record, problems: list[str]) -> Seed:
    """The run's seed: ``base`` plus the rows after it, every joule once (the last row's ``run_*`` totals)."""
    def total(name: str, cell: float | None, b: float | None, r: float | None, each: Any) -> float | None:
        return _run_total(name, cell, b, r, max((v for v in map(each, stages.values()) if v is not None),
                                                default=0.0), problems)

    kwh = total("energy_kwh", last.run_energy_kwh, base.kwh, rows.kwh, lambda s: s.kwh)
    foot = tuple(total(n, c, b, r, lambda s, i=i: s.footprint[i]) for i, (n, c, b, r) in enumerate(zip(
        ("embodied_kg", "water_onsite_l", "water_offsite_l"),
        (last.run_embodied_kg, last.run_water_onsite_l, last.run_water_offsite_l), base.footprint, rows.footprint)))
    # overlapping stages count a joule in each: the rows' splits are scaled to the run's share of their sum
    scale = max(kwh - base.kwh, 0.0) / rows.kwh if kwh is not None and rows.kwh > 0 else 1.0
    out = _Fold(base)
    out.records += rows.records
    out.facility += rows.facility * scale
    for acc, part in ((out.by_kind, rows.by_kind), (out.mix, rows.mix), (out.by_device, rows.by_device),
                      (out.embodied, rows.embodied)):
        _sum_into(acc, part, scale)
    out.kwh = kwh or 0.0
    out.duration = total("duration_s", last.run_duration_s, base.duration, rows.duration, lambda s: s.duration) or 0.0
    out.co2 = total("co2_kg", last.run_co2_kg, base.co2, rows.co2, lambda s: s.co2) or 0.0
    out.cost = total("cost", last.run_cost, base.cost, rows.cost, lambda s: s.cost)
    out.footprint = foot  # type: ignore[assignment]
    return out.seed()


def _opening(openings: dict[int, dict[str, Any]], r: Record) -> None:
    o = openings.setdefault(r.resume, {"resume": r.resume, "started_at": r.start_time, "location": r.location,
                                       "devices": {d: e.provenance for d, e in r.devices.items()}, "records": 0})
    o["records"] += 1


def fold(base: Resumed | None, records: Any, problems: list[str] | None = None) -> Resumed | None:
    """``base`` (or nothing) continued by ``records`` (in file order); None when there is nothing at all."""
    problems = [] if problems is None else problems
    stages = {n: _Fold(s) for n, s in (base.stages.items() if base is not None else ())}
    rows = _Fold()
    openings = {int(o["resume"]): dict(o) for o in (base.openings if base is not None else ())}
    last: Record | None = None
    for r in records:
        stages.setdefault(r.stage, _Fold()).add(r)
        rows.add(r)
        _opening(openings, r)
        last = r
    if last is None:
        return base
    run = _run_seed(base.run if base is not None else ZERO, rows, stages, last, problems)
    return Resumed(max(openings) + 1, {n: s.seed() for n, s in stages.items()}, run,
                   [openings[k] for k in sorted(openings)])


def resumed(records: list[Record]) -> Resumed | None:
    """How to continue after ``records`` (the complete rows on disk, in file order); None when there are none."""
    return fold(None, records)


def from_csv(path: str | os.PathLike[str]) -> Resumed | None:
    """:class:`Resumed` for a green CSV: the checkpoint and the rows after it (see the module docstring).

    Saves a new checkpoint when rows were read. ResumeError when the CSV lacks the run's totals."""
    from greenops_tb.recording import checkpoint

    path = os.fspath(path)
    problems: list[str] = []
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        line = first_line(fd, size)
        if line is None:
            return None
        header = parse_row(line)
        start, end = len(line) + 1, complete_end(fd, size)
        base = checkpoint.load(path, fd, line, end, problems)
        if base is not None:
            start = base[0]
        if start < end and TOTALS_COLUMNS - set(header):
            raise ResumeError(
                f"{path!r} cannot be continued: its header lacks {sorted(TOTALS_COLUMNS - set(header))}, the run's "
                "totals (it was written with a narrow csv_columns= by an older greenops_tb); pass a new log_dir= "
                "or csv_path= for the new records (the file is left unchanged)")
        skipped: list[int] = [0]
        first: list[str] = []  # what was wrong with the first row skipped

        def records() -> Any:
            for at, text in lines_forward(fd, start, end):
                try:
                    yield checked_record(parse_row(text), header)
                except ValueError as err:
                    skipped[0] += 1
                    first[:] = first or [f"the row at byte {at}: {err}"]

        out = fold(base[1] if base is not None else None, records(), problems)
    if skipped[0]:
        problems.insert(0, f"{skipped[0]} unreadable rows skipped (first: {first[0]})")
    if problems:
        warnings.warn(f"greenops_tb: re-opening {path}: " + "; ".join(problems), RuntimeWarning, stacklevel=3)
    if out is not None and start < end:
        checkpoint.save(path, out)
    return out


def save_state(path: str, seeds: tuple[dict[str, Seed], Seed, int], openings: list[dict[str, Any]]) -> None:
    """Checkpoint a writer's totals (``Stages.seeds()``; ``openings``: the run metadata's, this one last)."""
    from greenops_tb.recording import checkpoint

    stages, run, records = seeds
    openings = [*openings[:-1], {**openings[-1], "records": records}]
    checkpoint.save(path, Resumed(int(openings[-1]["resume"]) + 1, stages, run, openings))
