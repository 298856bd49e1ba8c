"""Electricity price: a user's value always wins; else the Eurostat default for the country; else unknown."""
from __future__ import annotations

import math

from greenops_tb.errors import UsageError
from greenops_tb.grid.dataset import Dataset, Zone

UNKNOWN = "unknown"


def resolve_price(ds: Dataset, zone: Zone, price_per_kwh: float | str | None, currency: str | None,
                  label: str = "argument") -> tuple[float | None, str, str]:
    """``(price per kWh or None, ISO 4217 currency or "", source label)``; never invents a price."""
    country = zone.country or zone.key
    default = ds.prices.get(country)
    cur = currency.strip().upper() if currency else None
    if cur is not None and (len(cur) != 3 or not cur.isalpha()):
        raise UsageError(f"currency={currency!r} is not an ISO 4217 code; pass e.g. 'EUR', 'USD', 'GBP'")
    if price_per_kwh is not None:
        try:
            p = float(price_per_kwh)
        except (TypeError, ValueError):
            raise UsageError(f"price_per_kwh={price_per_kwh!r} is not a number; pass the price of one kWh") from None
        if not math.isfinite(p) or p < 0:
            raise UsageError(f"price_per_kwh={price_per_kwh!r} must be a finite number >= 0 (price of one kWh)")
        cur = cur or ds.currencies.get(country)
        if not cur:
            raise UsageError(f"price_per_kwh={p} given but no currency is known for {zone.key}; pass currency=")
        return p, cur, label
    if cur is not None and (default is None or default.currency != cur):
        raise UsageError(f"currency={cur} given without price_per_kwh=, and no default price in {cur} is known "
                         f"for {zone.key}; pass price_per_kwh= as well")
    if default is not None:
        return default.price_per_kwh, default.currency, default.source
    return None, "", UNKNOWN
