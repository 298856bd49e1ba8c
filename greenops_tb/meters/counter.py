"""Validated hardware energy counters: raw counter values -> joules that the device could have drawn.

Any source that reads a cumulative hardware counter (NVML's mJ counter, RAPL's ``energy_uj``, hwmon
``energy*_input``, amdsmi ...) feeds its raw values to one :class:`Counter` per counter. Each new
value is checked against what the device can draw (``max_power_w`` x elapsed time, plus ``slack_s``
of it for counters that refresh in chunks):

* larger and plausible: counted;
* larger by more than the device can draw: a **jump** (garbage in the driver) - not counted, the
  baseline is kept (a one-off bad value costs nothing once the counter reads sanely again);
* smaller: a **wrap** when the counter has a known range (``wrap_at``) and the wrapped difference is
  plausible, counted; else a **reset** (driver reload, RAPL re-init) - the baseline restarts at the
  new value;
* negative: **negative** - not counted, baseline kept;
* not a number at all: ValueError, a failure (the interface is broken): the meter degrades the source.

A glitched interval counts ``estimate_w() x dt`` instead (the caller's best estimate of the power:
sampled power, the average so far), capped at the bound; energy estimated this way is credited
against the next plausible delta, so a counter that recovers stays exact. The first glitch warns
once; ``label`` says ``glitch: <kind>`` until the next record has shown it. A counter that glitches
:data:`MAX_GLITCHES` times within :data:`GLITCH_WINDOW_S` raises :class:`CounterGlitching`, so the
meter degrades the source like a failing one.

The bound: ``GREENOPS_MAX_DEVICE_W`` (watts, env) overrides the device's own (power limit, TDP).
"""
from __future__ import annotations

import collections
import logging
import math
import os
import warnings
from typing import Callable

from greenops_tb.errors import CounterGlitching as CounterGlitching

log = logging.getLogger(__name__)

BOUND_ENV = "GREENOPS_MAX_DEVICE_W"
#: glitches within GLITCH_WINDOW_S seconds that make the source count as failing
MAX_GLITCHES = 3
GLITCH_WINDOW_S = 600.0
#: devices briefly draw more than their power limit / TDP; the bound allows this much above it
HEADROOM = 1.5


_WHAT = {
    "reset": "went backwards (a reset: driver reload or counter re-init, not a plausible wraparound)",
    "jump": "jumped by more than the device can draw ({w:g} W)",
    "negative": "gave a negative value",
}


def plausible_max_w(rated_w: float | None, default_w: float) -> float:
    """The most a device may draw: ``$GREENOPS_MAX_DEVICE_W``, else HEADROOM x its rating, else ``default_w``."""
    env = os.environ.get(BOUND_ENV)
    if env:
        try:
            value = float(env)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            return value
        log.warning("%s=%r is not a positive number of watts; using the device's own bound", BOUND_ENV, env)
    if rated_w is not None and math.isfinite(rated_w) and rated_w > 0:
        return HEADROOM * rated_w
    return default_w


def parse_raw(value: object) -> int | str:
    """A raw counter value as an int, or "negative"; ValueError naming the value when it is not a number."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").strip()
    try:
        raw = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"counter value {value!r} is not a number") from None
    return "negative" if raw < 0 else raw


class Counter:
    """One cumulative hardware counter in units of ``joules_per_unit``; ``joules`` is the validated total."""

    def __init__(
        self,
        name: str,
        raw0: int,
        t0: float,
        *,
        joules_per_unit: float,
        max_power_w: float,
        wrap_at: int | None = None,
        slack_s: float = 0.0,
    ) -> None:
        self.name = name
        self.joules = 0.0
        self.label: str | None = None  # "glitch: reset" until a record has shown it
        self.glitches = 0
        self.changed = False  # whether the last value differed from the one before
        self._t0 = t0
        self._raw, self._raw_t = raw0, t0  # the baseline value and when it was read
        self._t = t0  # up to when energy is counted (the baseline's time, or a glitch's)
        self._unit = joules_per_unit
        self._max_w = max_power_w
        self._wrap = wrap_at
        self._slack = slack_s
        self._credit = 0.0  # joules estimated during glitches, not yet backed by the counter
        self._shown = False
        self._recent: collections.deque[float] = collections.deque()
        self._warned = False

    @property
    def max_power_w(self) -> float:
        return self._max_w

    def average_w(self, t: float) -> float:
        """The mean power counted so far (an estimate for a glitched interval where nothing better exists)."""
        return self.joules / (t - self._t0) if t > self._t0 else 0.0

    def bound_j(self, dt: float) -> float:
        """The most joules the device can draw in ``dt`` seconds (with the refresh slack)."""
        return self._max_w * (max(dt, 0.0) + self._slack)

    def shown(self) -> None:
        """A record has shown the label: the next advance clears it (unless it glitches again)."""
        self._shown = True

    def advance(self, value: object, t: float, estimate_w: Callable[[], float]) -> float:
        """Take the counter's value at monotonic time ``t``; returns the joules added (>= 0)."""
        if self._shown:
            self.label, self._shown = None, False
        raw = parse_raw(value)
        dt = t - self._t
        if isinstance(raw, str):
            return self._glitch(raw, dt, t, estimate_w, None)
        d = raw - self._raw
        span = t - self._raw_t
        if d < 0:
            wrapped = self._wrap - self._raw + raw if self._wrap is not None and self._raw <= self._wrap else None
            if wrapped is None or wrapped * self._unit > self.bound_j(span):
                return self._glitch("reset", dt, t, estimate_w, raw)
            d = wrapped
        if d * self._unit > self.bound_j(span):
            return self._glitch("jump", dt, t, estimate_w, None)
        self.changed = d != 0
        self._raw, self._raw_t, self._t = raw, t, t
        j = d * self._unit
        used = min(j, self._credit)
        self._credit -= used
        self.joules += j - used
        return j - used

    def _glitch(self, kind: str, dt: float, t: float, estimate_w: Callable[[], float], rebase: int | None) -> float:
        self.glitches += 1
        self.label, self._shown = f"glitch: {kind}", False
        self.changed = True
        try:
            watts = float(estimate_w())
        except Exception:  # noqa: BLE001 - no estimate: the interval counts nothing
            log.debug("no power estimate for %s", self.name, exc_info=True)
            watts = 0.0
        j = min(max(watts, 0.0) * max(dt, 0.0), self.bound_j(dt)) if math.isfinite(watts) else 0.0
        if rebase is not None:  # a reset: the counter starts over; what it counted before is gone
            self._raw, self._raw_t, self._credit = rebase, t, 0.0
        else:
            self._credit += j
        self._t = t
        self.joules += j
        self._recent.append(t)
        while self._recent and t - self._recent[0] > GLITCH_WINDOW_S:
            self._recent.popleft()
        if len(self._recent) >= MAX_GLITCHES:
            raise CounterGlitching(f"{self.name} gave {len(self._recent)} impossible values within "
                                   f"{GLITCH_WINDOW_S:g}s (last: {kind})")
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"greenops_tb: {self.name} {_WHAT[kind].format(w=self._max_w)}; that interval counts "
                f"{watts:g} W x {max(dt, 0.0):.3g} s instead, labelled 'glitch: {kind}' (set {BOUND_ENV} "
                "if the device's bound is wrong)",
                RuntimeWarning,
                stacklevel=4,
            )
        return j
