"""The rule every reader of totals follows: records carry running totals, so a stage's latest record holds the
stage's totals (``stage_*``) and the run's latest record the run's (``run_*``). Grouped here once."""
from __future__ import annotations

from typing import Iterable

from greenops_tb.format.schema import Record


def by_stage(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Each stage's records in the order given (emission order), stages in order of their first record;
    the last of each list is the stage's latest record."""
    out: dict[str, list[Record]] = {}
    for r in records:
        out.setdefault(r.stage, []).append(r)
    return out

