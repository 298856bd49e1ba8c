"""GreenSummaryWriter's builders: validated options, the meter and the CSV sink, each in one place."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from greenops_tb.format.columns import CSV_NAME
from greenops_tb.meters.base import EnergySource, Meter, MeterLike
from greenops_tb.sinks.csv import CsvSink, choose_columns

if TYPE_CHECKING:
    from greenops_tb.distributed.host_claim import HostClaim
    from greenops_tb.distributed.shard import RankShard


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """The writer's record options, checked: bad values raise ValueError saying what to pass."""

    pue: float
    emit_every: int
    base_columns: list[str]  # the CSV's base columns, in schema order

    @classmethod
    def checked(cls, pue: object, emit_every: object, csv_columns: Sequence[str] | None) -> "RecordOptions":
        if isinstance(pue, bool) or not isinstance(pue, (int, float)) or not 1.0 <= pue < math.inf:
            raise ValueError(
                f"pue must be a finite number >= 1 (1.0 = no data-centre overhead; typical clouds 1.1-1.6), "
                f"got {pue!r}"
            )
        if isinstance(emit_every, bool) or not isinstance(emit_every, int) or emit_every < 1:
            raise ValueError(f"emit_every must be an int >= 1 (1 = every record), got {emit_every!r}")
        return cls(float(pue), emit_every, choose_columns(csv_columns))


#: the shortest sampling interval: below it the sampler thread would cost training real CPU time
MIN_SAMPLE_INTERVAL_S = 0.01


def check_types(*, sample_interval: object, currency: object, sysfs_root: object, meters: object,
                run_name: object) -> float:
    """Check the options that are easy to pass wrongly, before anything is created; returns the sample interval.

    TypeError/ValueError naming the option and what to pass.
    """
    if isinstance(sample_interval, bool) or not isinstance(sample_interval, (int, float)) \
            or not MIN_SAMPLE_INTERVAL_S <= sample_interval < math.inf:
        raise ValueError(f"sample_interval must be a finite number of seconds >= {MIN_SAMPLE_INTERVAL_S:g} "
                         f"(default 0.1), got {sample_interval!r}")
    if currency is not None and not isinstance(currency, str):
        raise TypeError(f"currency must be an ISO 4217 code such as 'EUR' (a str), got {currency!r}")
    if sysfs_root is not None and not isinstance(sysfs_root, (str, os.PathLike)):
        raise TypeError(f"sysfs_root must be a directory path (str or os.PathLike) such as '/sys/class/powercap', "
                        f"got {sysfs_root!r}")
    if run_name is not None and (not isinstance(run_name, str) or not run_name):
        raise TypeError(f"run_name must be a non-empty string (default: the log dir's name), got {run_name!r}")
    if meters is not None:
        if isinstance(meters, (str, bytes, EnergySource)) or not isinstance(meters, Sequence):
            raise TypeError(f"meters must be a list of EnergySource objects (greenops_tb.meters), got {meters!r}")
        bad = [(i, m) for i, m in enumerate(meters) if not isinstance(m, EnergySource)]
        if bad:
            raise TypeError(f"meters[{bad[0][0]}] is {bad[0][1]!r}, not an EnergySource: pass sources such as "
                            "ConstantPowerSource({'cpu:0': 65.0}) or leave meters=None for this machine's own")
    return float(sample_interval)


def build_meter(shard: "RankShard | None", meters: Sequence[EnergySource] | None, gpus: list[int] | str | None,
                sysfs_root: str | None, sample_interval: float, *, cpu_attribution: str = "socket",
                gpu_attribution: str = "device", log_dir: str = "") -> "tuple[MeterLike, HostClaim | None]":
    """The meter read at every boundary: the given sources or the default ones (a rank's own in a distributed job).

    Under a job (a scheduler's, or the ranks of one distributed run), host-level sources are kept only by the
    first process of the job on this host (:mod:`greenops_tb.distributed.host_claim`); the claim is returned,
    to be released at close.
    """
    from greenops_tb.distributed.host_claim import claim_host

    if gpus is None and shard is not None:
        gpus = shard.default_gpus()  # this rank's GPU, so no GPU is counted by two ranks
    if meters is not None:
        srcs = list(meters)
    else:
        from greenops_tb.meters.select import default_sources

        srcs = default_sources(gpus=gpus, sysfs_root=sysfs_root, sample_interval=sample_interval,
                               cpu_attribution=cpu_attribution, gpu_attribution=gpu_attribution)
    srcs, claim = claim_host(srcs, job=shard.claim_key(log_dir) if shard is not None else None)
    return Meter(srcs), claim


def build_csv(log_dir: str, csv_path: str | os.PathLike[str] | bool | None, base_columns: list[str],
              chain: bool, shard: "RankShard | None" = None) -> CsvSink | None:
    """The CSV sink: None when ``csv_path is False``, else at ``csv_path`` (default ``<log_dir>/green.csv``;
    a rank's shard of a distributed job: ``green.rank<k>.csv``, see :meth:`RankShard.csv_path`)."""
    if csv_path is False:
        return None
    given = None if csv_path is None or csv_path is True else csv_path
    if shard is not None:
        path: str | os.PathLike[str] = shard.csv_path(log_dir, given)
    else:
        path = os.path.join(log_dir, CSV_NAME) if given is None else given
    return CsvSink(path, base_columns=base_columns, chain=chain)  # type: ignore[arg-type]
