"""What a writer builds from its checked options (:mod:`greenops_tb.recording.options`): the meter and the CSV sink."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from greenops_tb.format.columns import CSV_NAME
from greenops_tb.meters.base import Meter, MeterLike
from greenops_tb.recording.options import Measure, WriterOptions
from greenops_tb.sinks.csv import CsvSink

if TYPE_CHECKING:
    from greenops_tb.distributed.host_claim import HostClaim
    from greenops_tb.distributed.shard import RankShard


def build_meter(shard: "RankShard | None", measure: Measure, log_dir: str = "") -> "tuple[MeterLike, HostClaim | None]":
    """The meter read at every boundary: the given sources or the default ones (a rank's own in a distributed job).

    Under a job (a scheduler's, or the ranks of one distributed run), host-level sources are kept only by the
    first process of the job on this host (:mod:`greenops_tb.distributed.host_claim`); the claim is returned,
    to be released at close.
    """
    from greenops_tb.distributed.host_claim import claim_host

    gpus = measure.gpus
    if gpus is None and shard is not None:
        gpus = shard.default_gpus()  # this rank's GPU, so no GPU is counted by two ranks
    if measure.meters is not None:
        srcs = list(measure.meters)
    else:
        from greenops_tb.meters.select import default_sources

        srcs = default_sources(gpus=gpus, powercap_root=measure.powercap_root, hwmon_root=measure.hwmon_root,
                               sample_interval=float(measure.sample_interval),
                               cpu_attribution=measure.cpu_attribution, gpu_attribution=measure.gpu_attribution)
    srcs, claim = claim_host(srcs, job=shard.claim_key(log_dir) if shard is not None else None)
    return Meter(srcs), claim


def build_csv(log_dir: str, opts: WriterOptions, shard: "RankShard | None" = None) -> CsvSink | None:
    """The CSV sink: None when ``csv_path=False``, else at ``csv_path`` (default ``<log_dir>/green.csv``; a rank's
    shard of a distributed job: ``green.rank<k>.csv``, see :meth:`RankShard.csv_path`)."""
    csv_path = opts.output.csv_path
    if csv_path is False:
        return None
    given = None if csv_path is None or csv_path is True else csv_path
    if shard is not None:
        path: str | os.PathLike[str] = shard.csv_path(log_dir, given)
    else:
        path = os.path.join(log_dir, CSV_NAME) if given is None else given
    return CsvSink(os.fspath(path), base_columns=opts.base_columns, chain=opts.output.hash_chain)
