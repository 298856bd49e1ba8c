"""Running totals of a stage or of the run, and the priced energy of one interval (built off the caller's path)."""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

from greenops_tb.footprint import NO_FOOTPRINT, Footprint, FootprintTotals, IntervalFootprint
from greenops_tb.format.schema import DEVICE_KINDS, SOURCES
from greenops_tb.format.units import J_PER_KWH, co2_kg
from greenops_tb.grid.types import Intensity
from greenops_tb.meters.base import Reading
from greenops_tb.recording.resume import Seed
from greenops_tb.recording.totals import StageTotals


_UNSET: Mapping[str, float] = {}  # an accumulator's shares before its first interval


class Acc:
    """Running totals of a stage or of the run.

    The source mix is kept as facility energy per run of intervals with the same grid shares
    (one addition per interval), spread over the sources only when the shares change or totals are read.
    """

    __slots__ = ("records", "duration", "kwh", "by_kind", "by_device", "facility", "co2", "cost", "mix", "shifted",
                 "_shares", "_facility_at", "samples", "tokens", "footprint")

    def __init__(self, priced: bool) -> None:
        self.records = 0
        self.duration = 0.0
        self.kwh = 0.0
        self.by_kind = dict.fromkeys(DEVICE_KINDS, 0.0)
        self.by_device: list[float] = []  # IT kWh per meter device, in the meter's order
        self.facility = 0.0
        self.co2 = 0.0
        self.cost: float | None = 0.0 if priced else None
        self.mix: dict[str, float] = {}  # settled part
        self.shifted = False  # the grid's shares changed since the first interval
        self._shares: Mapping[str, float] = _UNSET
        self._facility_at = 0.0  # facility energy at self._shares, not yet in self.mix
        self.samples = self.tokens = 0  # work units counted (stages only; the run's stay 0)
        self.footprint = FootprintTotals()

    def add(self, duration: float, p: "Priced") -> None:
        self.duration += duration
        by_kind = self.by_kind
        for k, v in p.kinds.items():
            by_kind[k] += v
        if self.by_device:
            self.by_device = list(map(float.__add__, self.by_device, p.devices))
        else:
            self.by_device = list(p.devices)
        self.kwh += p.energy
        self.facility += p.facility
        self.co2 += p.co2
        if p.cost is not None and self.cost is not None:
            self.cost += p.cost
        if p.shares is not self._shares:
            self.shifted = self.shifted or self._shares is not _UNSET
            self.mix = self._mix()
            self._shares, self._facility_at = p.shares, 0.0
        self._facility_at += p.facility
        self.footprint.add(p.footprint)

    def seed(self, s: Seed) -> None:
        """Continue from a re-opened run's totals (see :mod:`greenops_tb.recording.resume`)."""
        self.records, self.duration, self.kwh, self.facility, self.co2 = s.records, s.duration, s.kwh, s.facility, s.co2
        self.by_kind = {k: s.by_kind.get(k, 0.0) for k in self.by_kind}
        if self.cost is not None:
            self.cost = s.cost if s.cost is not None else self.cost
        self.mix = dict(s.mix)
        self.samples, self.tokens = s.samples, s.tokens
        self.footprint = FootprintTotals(*s.footprint, dict(s.embodied_kg_by_device))

    def as_seed(self, next_step: int = 0, epoch: int = -1, by_device: Mapping[str, float] | None = None) -> Seed:
        """These totals to continue from (the inverse of :meth:`seed`)."""
        f = self.footprint
        return Seed(self.records, self.duration, self.kwh, dict(self.by_kind), self.facility, self.co2, self.cost,
                    self._mix(), dict(by_device or {}), next_step, epoch, self.samples, self.tokens,
                    (f.embodied_kg, f.water_onsite_l, f.water_offsite_l), dict(f.embodied_kg_by_device))

    def mix_now(self, facility_now: float) -> dict[str, float]:
        """The record's running mix: ``{}`` while the shares have not changed and this interval's facility energy
        (``facility_now``) carries them (see :class:`~greenops_tb.format.schema.Record`), else facility energy per grid
        source so far, in :data:`~greenops_tb.format.schema.SOURCES` order."""
        if not self.shifted and facility_now > 0:
            return {}
        mix = self._mix()
        return {s: mix[s] for s in SOURCES if s in mix}

    def _mix(self) -> dict[str, float]:
        """Facility energy per grid source so far."""
        mix, at = dict(self.mix), self._facility_at
        for s, share in self._shares.items():
            mix[s] = mix.get(s, 0.0) + at * share
        return mix

    def totals(self, stage: str) -> StageTotals:
        f = self.footprint
        return StageTotals(stage, self.records, self.duration, self.kwh, dict(self.by_kind), self.facility,
                           self.co2, self.cost, self._mix(), self.samples, self.tokens, f.embodied_kg,
                           f.water_onsite_l, f.water_offsite_l, dict(f.embodied_kg_by_device))


class Priced(NamedTuple):
    """Energy of one interval (IT energy per kind and in all, kWh), what it costs, and the grid's shares."""

    kinds: dict[str, float]
    devices: list[float]  # IT kWh per meter device, in the meter's order
    energy: float
    facility: float
    co2: float
    cost: float | None
    shares: Mapping[str, float]
    footprint: IntervalFootprint  # embodied and water, beside the CO2


def price(a: Reading, b: Reading, it: Intensity, kinds_of: Sequence[str], pue: float, price_per_kwh: float | None,
          footprint: Footprint | None) -> Priced:
    """The energy between readings ``a`` and ``b`` (IT per device kind and device, and facility with ``pue``),
    its CO2e at intensity ``it``, its cost and its footprint."""
    kinds = dict.fromkeys(DEVICE_KINDS, 0.0)
    devices = [(jb - ja) / J_PER_KWH for ja, jb in zip(a.joules, b.joules)]
    for kind, kwh in zip(kinds_of, devices):
        kinds[kind] += kwh
    energy = sum(kinds.values())
    facility = energy * pue
    co2 = co2_kg(facility, it.carbon_intensity_g_per_kwh)
    cost = None if price_per_kwh is None else facility * price_per_kwh
    fp = NO_FOOTPRINT if footprint is None else footprint.interval_at(b.t_mono - a.t_mono, energy, facility, it.mix)
    return Priced(kinds, devices, energy, facility, co2, cost, it.mix, fp)
