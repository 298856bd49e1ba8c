"""Every rank's device context (utilisation, memory) carried in the exchange's float row.

A rank's context keys (which device says what: ``(device index, key)``) are agreed once through an
object gather, and again whenever they change (a GPU's utilisation becomes unreadable, a source falls
back); in between, each exchange adds one float per agreed key to the row (NaN where a device says
nothing this time), so the per-boundary cost stays one ``all_gather`` of a slightly wider tensor.

Running integrals (``util_pct*s``) are turned into means on the sending rank's own clock (sent in the
row), over the interval between its last two exchanges (:class:`Means`): dividing by the receiver's
interval would be wrong by the ranks' skew.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from greenops_tb.meters.base import INTEGRAL_SUFFIX, Reading, context_between

Keys = tuple[tuple[int, str], ...]


def keys_of(context: Sequence[Mapping[str, float]] | None) -> Keys:
    """The ``(device index, key)`` pairs a reading's context holds, in a stable order."""
    if not context:
        return ()
    return tuple((i, k) for i, c in enumerate(context) for k in sorted(c))


def pack(context: Sequence[Mapping[str, float]] | None, keys: Keys) -> list[float]:
    """The values of ``keys`` in ``context`` (NaN where absent)."""
    ctx = context or ()
    return [float(ctx[i].get(k, math.nan)) if i < len(ctx) else math.nan for i, k in keys]


def unpack(values: Iterable[float], keys: Keys, devices: int, *, integrals: bool = True) -> list[dict[str, float]]:
    """Per device, the context ``values`` carry; ``integrals=False`` leaves running integrals out."""
    out: list[dict[str, float]] = [{} for _ in range(devices)]
    for (i, k), v in zip(keys, values):
        if i < devices and not math.isnan(v) and (integrals or not k.endswith(INTEGRAL_SUFFIX)):
            out[i][k] = float(v)
    return out


class Means:
    """Per rank, its last two exchanged contexts turned into a record's context (integrals -> means)."""

    def __init__(self, world: int) -> None:
        self._prev: list[Reading | None] = [None] * world

    def update(self, rank: int, clock: float, raw: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
        """The context of ``rank`` over the interval since its previous exchange (gauges: as of now)."""
        cur = Reading(clock, 0.0, (), tuple(raw))
        prev, self._prev[rank] = self._prev[rank], cur
        return list(context_between(prev or Reading(clock, 0.0, ()), cur) or ())
