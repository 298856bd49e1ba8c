"""Watched values: user numbers read at every record (loss, learning rate, ...).

What can be watched (checked when registered, so a bad value fails at once,
not at step 10,000):

* a callable returning a number (called at record time);
* a number, a 0-d / one-element tensor, a numpy scalar or 0-d array (tensors
  and arrays are read at record time, so in-place updates show);
* a one-element list or dict (a mutable holder: ``h = [0.0]; ...; h[0] = loss``);
* a dict with an ``"lr"`` key, such as an optimizer param group, or a
  ``torch.optim.Optimizer`` (its first param group's ``lr``);
* an object with a numeric ``value`` attribute.

NaN and inf are recorded as they are. A value that fails later (a callable
that raises) is recorded as NaN with one warning per name. A value registered
with ``stage=`` is read only at that stage's records (model hooks' per-stage
totals); otherwise at every stage's.
"""
from __future__ import annotations

import math
import threading
import warnings
from typing import Any, Callable, Mapping

from greenops_tb.errors import UsageError
from greenops_tb.format.tags import check_name

Getter = Callable[[], float]


def to_float(x: Any) -> float:
    """A number from a Python/numpy/torch scalar; ValueError/TypeError otherwise."""
    if isinstance(x, float):
        return x
    if isinstance(x, (bool, int)):
        return float(x)
    if isinstance(x, (str, bytes)):
        raise TypeError("text is not a number")
    numel = getattr(x, "numel", None) or getattr(x, "size", None)
    if callable(numel):
        numel = numel()
    if isinstance(numel, int) and numel != 1:
        raise ValueError(f"has {numel} elements, need exactly one")
    item = getattr(x, "item", None)
    return float(item() if callable(item) else x)


def _getter(value: Any) -> Getter:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"a list/tuple holder must have exactly one element, it has {len(value)}")
        return lambda: to_float(value[0])
    if isinstance(value, Mapping):
        if "lr" in value:
            return lambda: to_float(value["lr"])
        if len(value) != 1:
            raise ValueError(f"a dict must have one item or an 'lr' key, it has keys {sorted(map(str, value))[:5]}")
        key = next(iter(value))
        return lambda: to_float(value[key])
    groups = getattr(value, "param_groups", None)
    if isinstance(groups, list) and groups and isinstance(groups[0], Mapping) and "lr" in groups[0]:
        return lambda: to_float(value.param_groups[0]["lr"])
    if callable(value) and not hasattr(value, "item"):
        return lambda: to_float(value())
    if hasattr(value, "value") and not hasattr(value, "item"):
        return lambda: to_float(value.value)
    to_float(value)  # raises for anything else
    return lambda: to_float(value)


class Watches:
    """Named getters, read together at record time (thread-safe)."""

    def __init__(self) -> None:
        self._getters: dict[str, Getter] = {}
        self._stage_of: dict[str, str] = {}  # name -> the one stage whose records carry it
        self._failed: set[str] = set()
        self._lock = threading.Lock()

    def add(self, name: str, value: Any, stage: str | None = None) -> None:
        """Register ``value`` under ``name`` (for ``stage``'s records only, if given); ValueError if it cannot
        give a number."""
        check_name(name, "watched name")
        if stage is not None:
            check_name(stage)
        try:
            getter = _getter(value)
            getter()
        except Exception as err:  # noqa: BLE001 - any failure means "not watchable"
            raise UsageError(
                f"cannot watch {name!r}: {type(value).__name__} {value!r:.60} does not give a number ({err}). "
                "Watch a callable, a number, a one-element tensor/array/list/dict, an optimizer or param group, "
                "or an object with a numeric .value"
            ) from None
        with self._lock:
            self._getters = {**self._getters, name: getter}
            self._stage_of = {k: v for k, v in self._stage_of.items() if k != name}
            if stage is not None:
                self._stage_of[name] = stage

    def remove(self, name: str) -> None:
        with self._lock:
            self._getters = {k: g for k, g in self._getters.items() if k != name}
            self._stage_of = {k: v for k, v in self._stage_of.items() if k != name}

    def names(self) -> list[str]:
        return list(self._getters)

    def read(self, stage: str | None = None) -> dict[str, float]:
        """Current values (those of ``stage``'s records, if given); a getter that fails gives NaN (one warning
        per name)."""
        out: dict[str, float] = {}
        stage_of = self._stage_of
        for name, getter in self._getters.items():
            if stage is not None and stage_of and stage_of.get(name, stage) != stage:
                continue
            try:
                out[name] = getter()
            except Exception as err:  # noqa: BLE001 - never crash training over a watched value
                out[name] = math.nan
                if name not in self._failed:
                    self._failed.add(name)
                    warnings.warn(f"greenops_tb: watched value {name!r} failed ({err}); recording NaN", RuntimeWarning)
        return out
