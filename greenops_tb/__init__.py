"""greenops_tb: energy, CO2, cost and grid source mix of PyTorch training, in TensorBoard and a CSV.

Imports are lazy (PEP 562): ``import greenops_tb`` is cheap; torch and
TensorBoard load when :class:`GreenSummaryWriter` is first touched.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "GreenSummaryWriter": ("greenops_tb.writer", "GreenSummaryWriter"),
    "Where": ("greenops_tb.recording.options", "Where"),
    "Output": ("greenops_tb.recording.options", "Output"),
    "Measure": ("greenops_tb.recording.options", "Measure"),
    "GreenOpsError": ("greenops_tb.errors", "GreenOpsError"),
    "InferenceBench": ("greenops_tb.inference", "InferenceBench"),
    "RunTotals": ("greenops_tb.recording.totals", "RunTotals"),
    "ConstantPowerSource": ("greenops_tb.meters.constant", "ConstantPowerSource"),
    "read_csv": ("greenops_tb.analysis.frames", "read_csv"),
    "read_records": ("greenops_tb.readers.csv", "read_records"),
    "load_runs": ("greenops_tb.analysis.frames", "load_runs"),
    "whatif": ("greenops_tb.api", "whatif"),
    "report": ("greenops_tb.api", "report"),
    "ranges": ("greenops_tb.api", "ranges"),
}
__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from greenops_tb.analysis.frames import load_runs as load_runs
    from greenops_tb.analysis.frames import read_csv as read_csv
    from greenops_tb.api import ranges as ranges
    from greenops_tb.api import report as report
    from greenops_tb.api import whatif as whatif
    from greenops_tb.errors import GreenOpsError as GreenOpsError
    from greenops_tb.inference import InferenceBench as InferenceBench
    from greenops_tb.meters.constant import ConstantPowerSource as ConstantPowerSource
    from greenops_tb.readers.csv import read_records as read_records
    from greenops_tb.recording.options import Measure as Measure
    from greenops_tb.recording.options import Output as Output
    from greenops_tb.recording.options import Where as Where
    from greenops_tb.recording.totals import RunTotals as RunTotals
    from greenops_tb.writer import GreenSummaryWriter as GreenSummaryWriter


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'greenops_tb' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
