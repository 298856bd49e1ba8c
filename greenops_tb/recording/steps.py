"""Step and epoch values as the writer takes them: checked before a boundary, so a bad one records nothing."""
from __future__ import annotations

import operator
from typing import Any

from greenops_tb.errors import UsageError, UsageTypeError

#: steps and epochs are stored as int64 (TensorBoard's step type)
_INT64 = (-(2**63), 2**63 - 1)


def check_step(value: Any, what: str = "step") -> int:
    """``value`` as an int: ints, numpy integers and 0-d integer tensors; UsageTypeError/UsageError for anything
    else (text, NaN, 1.7, bool) and for values outside int64, so nothing is truncated or written wrongly."""
    if isinstance(value, bool):
        raise UsageTypeError(f"{what} must be an integer, got {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise UsageTypeError(f"{what} must be an integer (int, numpy integer or 0-d integer tensor), "
                             f"got {value!r}") from None
    if not _INT64[0] <= out <= _INT64[1]:
        raise UsageError(f"{what} {out} is outside int64 ({_INT64[0]}..{_INT64[1]}), TensorBoard's step type")
    return out
