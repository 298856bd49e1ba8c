"""torch.distributed-aware measurement: ranks, job-wide aggregation, per-rank/per-host breakdown."""
from greenops_tb.distributed.breakdown import energy_by_host, energy_by_rank
from greenops_tb.distributed.exchange import (
    DEFAULT_TIMEOUT_S,
    DistributedError,
    JobAggregator,
    RankTimeoutError,
    StageOrderError,
)
from greenops_tb.distributed.job import JobMeter, attach, writes_files
from greenops_tb.distributed.ranks import RankInfo, detect, prefix_device_id, split_device_id

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DistributedError",
    "JobAggregator",
    "JobMeter",
    "RankInfo",
    "RankTimeoutError",
    "StageOrderError",
    "attach",
    "detect",
    "energy_by_host",
    "energy_by_rank",
    "prefix_device_id",
    "split_device_id",
    "writes_files",
]
