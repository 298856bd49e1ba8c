"""Decisions as values: ``greenops_tb.whatif(...)``, ``greenops_tb.report(...)``, ``greenops_tb.ranges(...)``.

Each takes a run as a run directory or live CSV path, a :class:`~greenops_tb.readers.events.RunData`, a list of
records, or a :class:`~greenops_tb.writer.GreenSummaryWriter` (its CSV is read).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence, Union

from greenops_tb.errors import UsageError
from greenops_tb.format.schema import Record
from greenops_tb.readers.events import RunData

if TYPE_CHECKING:
    from greenops_tb.analysis.elsewhere import WhatIf
    from greenops_tb.analysis.uncertainty import Uncertainty
    from greenops_tb.writer import GreenSummaryWriter

RunSource = Union[str, "os.PathLike[str]", RunData, Sequence[Record], "GreenSummaryWriter"]


def run_data(source: RunSource, loader: str = "auto") -> RunData:
    """The records (and metadata, where known) of ``source``; :class:`~greenops_tb.errors.UsageError` (a
    ValueError) when it names no readable run. ``loader``: TensorBoard's reader of event files ("auto",
    "server": the Rust data server, "python")."""
    from greenops_tb.errors import InputError
    from greenops_tb.readers.runs import load_run

    if isinstance(source, RunData):
        return source
    if isinstance(source, (str, os.PathLike)):
        try:
            return load_run(os.fspath(source), loader)
        except InputError as err:
            raise UsageError(str(err)) from err
    wrong = "pass a run directory, a live CSV, RunData, records or a GreenSummaryWriter"
    if not isinstance(source, Sequence):  # a GreenSummaryWriter (not imported here: it loads torch)
        from greenops_tb.readers.csv import read_records

        if not hasattr(source, "run_metadata"):
            raise UsageError(wrong)
        if source.csv_path is None:
            raise UsageError("this writer keeps no CSV (csv_path=False); pass its log dir instead")
        return RunData(source.run_name, source.run_metadata(), read_records(source.csv_path))
    records = [r for r in source if isinstance(r, Record)]
    if not records or len(records) != len(source):
        raise UsageError(wrong)
    return RunData(records[0].run, None, records)


def whatif(source: RunSource, **options: Any) -> "WhatIf":
    """The same run elsewhere (see :func:`greenops_tb.analysis.elsewhere.whatif` for ``pue``, ``top``, ``clouds``...)."""
    from greenops_tb.analysis.elsewhere import whatif as rank

    data = run_data(source)
    return rank(data.records, run=data.run, **options)


def report(source: RunSource, format: str = "markdown", **options: Any) -> str:
    """A report of the run as text (formats: :data:`greenops_tb.reports.FORMATS`)."""
    from greenops_tb.reports import render

    return render(run_data(source), format, **options)


def ranges(source: RunSource) -> tuple["Uncertainty", dict[str, "Uncertainty"]]:
    """Low-high ranges of the run's totals and of each stage's (docs/METHOD.md)."""
    from greenops_tb.analysis.uncertainty import run_uncertainty

    return run_uncertainty(run_data(source).records)
