"""GreenSummaryWriter's builders: validated options, the meter and the CSV sink, each in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from greenops_tb.columns import CSV_NAME
from greenops_tb.meters.base import EnergySource, Meter, MeterLike
from greenops_tb.sinks.csv import CsvSink, choose_columns

if TYPE_CHECKING:
    from greenops_tb.distributed.exchange import JobAggregator


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """The writer's record options, checked: bad values raise ValueError saying what to pass."""

    pue: float
    emit_every: int
    base_columns: list[str]  # the CSV's base columns, in schema order

    @classmethod
    def checked(cls, pue: object, emit_every: object, csv_columns: Sequence[str] | None) -> "RecordOptions":
        if isinstance(pue, bool) or not isinstance(pue, (int, float)) or not pue >= 1.0:
            raise ValueError(
                f"pue must be a number >= 1 (1.0 = no data-centre overhead; typical clouds 1.1-1.6), got {pue!r}"
            )
        if isinstance(emit_every, bool) or not isinstance(emit_every, int) or emit_every < 1:
            raise ValueError(f"emit_every must be an int >= 1 (1 = every record), got {emit_every!r}")
        return cls(float(pue), emit_every, choose_columns(csv_columns))


def build_meter(job: "JobAggregator | None", meters: Sequence[EnergySource] | None, gpus: list[int] | None,
                sysfs_root: str | None, sample_interval: float) -> MeterLike:
    """The meter read at every boundary: the given sources or the default ones; job-wide in a distributed run."""
    if gpus is None and job is not None:
        gpus = job.default_gpus()  # this rank's GPU, so no GPU is counted by two ranks
    if meters is not None:
        srcs = list(meters)
    else:
        from greenops_tb.meters.select import default_sources

        srcs = default_sources(gpus=gpus, sysfs_root=sysfs_root, sample_interval=sample_interval)
    if job is None:
        return Meter(srcs)
    from greenops_tb.distributed.job import JobMeter

    return JobMeter(Meter(job.select_sources(srcs)), job)


def build_csv(log_dir: str, csv_path: str | os.PathLike[str] | bool | None, base_columns: list[str],
              chain: bool) -> CsvSink | None:
    """The CSV sink: None when ``csv_path is False``, else at ``csv_path`` (default ``<log_dir>/green.csv``)."""
    if csv_path is False:
        return None
    path = os.path.join(log_dir, CSV_NAME) if csv_path in (None, True) else csv_path
    return CsvSink(path, base_columns=base_columns, chain=chain)  # type: ignore[arg-type]
