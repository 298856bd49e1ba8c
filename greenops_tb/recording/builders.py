"""What a writer builds from its checked options (:mod:`greenops_tb.recording.options`): the meter and the CSV sink."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from greenops_tb.format.columns import CSV_NAME
from greenops_tb.meters.base import Meter, MeterLike
from greenops_tb.recording.options import Measure, WriterOptions
from greenops_tb.sinks.csv import CsvSink

if TYPE_CHECKING:
    from greenops_tb.distributed.exchange import JobAggregator
    from greenops_tb.distributed.host_claim import HostClaim


def build_meter(job: "JobAggregator | None", measure: Measure) -> "tuple[MeterLike, HostClaim | None]":
    """The meter read at every boundary: the given sources or the default ones; job-wide in a distributed run.

    Under a scheduler job, host-level sources are kept only by the first process of the job on this host
    (:mod:`greenops_tb.distributed.host_claim`); the claim is returned, to be released at close.
    """
    from greenops_tb.distributed.host_claim import claim_host

    gpus = measure.gpus
    if gpus is None and job is not None:
        gpus = job.default_gpus()  # this rank's GPU, so no GPU is counted by two ranks
    if measure.meters is not None:
        srcs = list(measure.meters)
    else:
        from greenops_tb.meters.select import default_sources

        srcs = default_sources(gpus=gpus, powercap_root=measure.powercap_root, hwmon_root=measure.hwmon_root,
                               sample_interval=float(measure.sample_interval),
                               cpu_attribution=measure.cpu_attribution, gpu_attribution=measure.gpu_attribution)
    if job is None:
        srcs, claim = claim_host(srcs)
        return Meter(srcs), claim
    from greenops_tb.distributed.job import JobMeter

    srcs, claim = claim_host(job.select_sources(srcs))
    return JobMeter(Meter(srcs), job), claim


def build_csv(log_dir: str, opts: WriterOptions, writes: bool = True) -> CsvSink | None:
    """The CSV sink: None when ``csv_path=False`` (or this process writes no files), else at ``csv_path``
    (default ``<log_dir>/green.csv``)."""
    csv_path = opts.output.csv_path
    if csv_path is False or not writes:
        return None
    path = os.path.join(log_dir, CSV_NAME) if csv_path is None or csv_path is True else os.fspath(csv_path)
    return CsvSink(path, base_columns=opts.base_columns, chain=opts.output.hash_chain)
