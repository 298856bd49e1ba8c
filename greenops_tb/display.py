"""Numbers as people read them: one formatter for ``print(writer)``, the CLI's text output and the Green tab.

``frontend/src/format.ts`` implements the same rules and must give the same strings:
``tests/fixtures/format_cases.json`` holds (function, arguments) -> text cases that both
``tests/test_display.py`` and ``frontend/test/format.test.ts`` check.

* Quantities in an SI-prefixed unit picked from their magnitude (``2.804 mWh``, ``883.0 mg CO2e``,
  ``12.5 W``) to 4 significant digits, rounded half away from zero on the exact binary value
  (as JavaScript's ``toPrecision``); exponent notation only below 1e-5 or from 1e15 after scaling.
* Cost in its currency with at least 2 decimals and up to 3 significant digits; under a cent ``< 0.01 EUR``;
  ``unknown`` without a price.
* Durations ``12.35 s``, ``2m 05s``, ``1h 02m 03s``. Non-finite numbers read ``—``.

Machine-readable output (``--json``, CSV, export) keeps raw SI numbers; nothing here is for parsing.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

SIG = 4
NOT_A_NUMBER = "—"
MONEY_MIN = 0.01
UNKNOWN_CURRENCY = "(currency unknown)"

#: (factor, unit), largest first: a value in the base unit divided by factor reads in unit
ENERGY = ((1e6, "GWh"), (1e3, "MWh"), (1.0, "kWh"), (1e-3, "Wh"), (1e-6, "mWh"), (1e-9, "µWh"))
MASS = ((1e3, "t"), (1.0, "kg"), (1e-3, "g"), (1e-6, "mg"), (1e-9, "µg"))
JOULES = ((1e6, "MJ"), (1e3, "kJ"), (1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"))
SECONDS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"))
POWER = ((1e6, "MW"), (1e3, "kW"), (1.0, "W"), (1e-3, "mW"))
VOLUME = ((1e3, "m³"), (1.0, "L"), (1e-3, "mL"), (1e-6, "µL"))
COUNT = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))
CO2E = "CO2e"


def _round_sig(x: float, digits: int) -> float:
    """``Number(x.toPrecision(digits))``: ``x`` to ``digits`` significant digits, ties away from zero."""
    d = Decimal(x)  # exact
    return float(d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding=ROUND_HALF_UP))


def _fixed(x: float, decimals: int) -> str:
    """``x.toFixed(decimals)``."""
    return f"{Decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):f}"


def sig(x: float, digits: int = SIG) -> str:
    """``x`` to ``digits`` significant digits, without exponent for everyday magnitudes (format.ts ``sig``)."""
    x = float(x)  # numpy scalars, 0-d tensors and ints read like floats
    if not math.isfinite(x):
        return NOT_A_NUMBER
    if x == 0:
        return "0"
    s = _round_sig(x, digits)
    exp = Decimal(s).adjusted()
    if 1e-5 <= abs(s) < 1e15:
        return _fixed(s, min(max(0, digits - 1 - exp), 20))
    mantissa = Decimal(s).scaleb(-exp).quantize(Decimal(1).scaleb(1 - digits), rounding=ROUND_HALF_UP)
    return f"{mantissa:f}e{'+' if exp >= 0 else '-'}{abs(exp)}"


def _pick(x: float, units: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    a = abs(x)
    return next((u for u in units if a >= u[0] * (1 - 5e-5)), units[-1])


def _scaled(x: float, units: tuple[tuple[float, str], ...]) -> str:
    x = float(x)
    if not math.isfinite(x):
        return NOT_A_NUMBER
    factor, unit = _pick(x, units)
    return f"{sig(x / factor)} {unit}"


def format_energy(kwh: float) -> str:
    """Energy given in kWh: ``2.107 Wh``, ``2.804 mWh``."""
    return _scaled(kwh, ENERGY)


def format_co2(kg: float) -> str:
    """CO2-equivalent mass given in kg: ``4.700 g CO2e``."""
    return f"{_scaled(kg, MASS)} {CO2E}"


def format_joules(j: float) -> str:
    """Energy given in J (per request, per sample): ``3.530 mJ``."""
    return _scaled(j, JOULES)


def format_latency(s: float) -> str:
    """A short duration given in s: ``19.22 µs``, ``4.500 ms``, ``1.200 s``."""
    return _scaled(s, SECONDS)


def format_power(w: float) -> str:
    """Power given in W."""
    return _scaled(w, POWER)


def format_volume(litres: float | None) -> str:
    """Water given in litres: ``86.52 mL``; ``unknown`` when None."""
    return "unknown" if litres is None else _scaled(litres, VOLUME)


def format_count(n: float, unit: str) -> str:
    """A large count with its unit: ``736.0 M samples/kWh``, ``12 samples``."""
    if float(n).is_integer() and abs(n) < 1000:
        return f"{int(n)} {unit}"
    return f"{_scaled(n, COUNT).rstrip()} {unit}"


def format_range(value: float, low: float, high: float, fmt: Callable[[float], str]) -> str:
    """``47.37 mWh (19.40 mWh to 75.30 mWh)``: a value and its low-high range in one formatter."""
    return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"


def format_saving(saved: float, fmt: Callable[[float], str], share: float | None = None) -> str:
    """A difference worded as what it does: ``saves 15.59 mg CO2e (96 %)``, ``costs 2.1 g CO2e more (12 %)``."""
    if not math.isfinite(float(saved)):
        return NOT_A_NUMBER
    pct = "" if share is None or not math.isfinite(float(share)) else f" ({format_share(abs(float(share)))})"
    if saved == 0:
        return "same"
    return f"saves {fmt(abs(saved))}{pct}" if saved > 0 else f"costs {fmt(-saved)} more{pct}"


def format_cost(cost: float | None, currency: str) -> str:
    """``0.253 EUR``, ``1,234.50 EUR``, ``< 0.01 EUR``; ``unknown`` when no price was known."""
    if cost is None or not math.isfinite(cost):
        return "unknown"
    cost = float(cost)  # repr() of a numpy scalar is "np.float64(...)", not a number
    cur = currency or UNKNOWN_CURRENCY
    a = abs(cost)
    if 0 < a < MONEY_MIN:
        return f"< {MONEY_MIN} {cur}"
    decimals = 2 if a == 0 else min(20, max(2, 2 - math.floor(math.log10(a))))
    text = f"{Decimal(repr(cost)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):,f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac} {cur}"


def format_duration(s: float) -> str:
    """Seconds as ``12.35 s``, ``2m 05s`` or ``1h 02m 03s``."""
    s = float(s)
    if not math.isfinite(s):
        return NOT_A_NUMBER
    if s < 60:
        return f"{sig(s)} s"
    total = math.floor(s + 0.5)
    h, rest = divmod(total, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}h {m:02d}m {sec:02d}s" if h > 0 else f"{m}m {sec:02d}s"


def format_share(x: float | None) -> str:
    """A share in [0, 1] as ``12.3 %``; ``unknown`` when None."""
    if x is None or not math.isfinite(x):
        return "unknown"
    return f"{_fixed(float(x) * 100, 1)} %"


#: name -> function, as the shared cases name them (the same names as format.ts exports)
FORMATTERS = {
    "sig": sig, "formatEnergy": format_energy, "formatCo2": format_co2, "formatPower": format_power,
    "formatCost": format_cost, "formatDuration": format_duration, "formatShare": format_share,
    "formatJoules": format_joules, "formatLatency": format_latency,
}
