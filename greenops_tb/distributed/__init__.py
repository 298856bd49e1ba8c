"""torch.distributed-aware measurement: ranks, job-wide aggregation, per-rank/per-host breakdown."""
from greenops_tb.distributed.aggregate import (
    DEFAULT_TIMEOUT_S,
    DistributedError,
    JobAggregator,
    JobInterval,
    RankTimeoutError,
    StageOrderError,
)
from greenops_tb.distributed.ranks import RankInfo, detect, prefix_device_id, split_device_id

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DistributedError",
    "JobAggregator",
    "JobInterval",
    "RankInfo",
    "RankTimeoutError",
    "StageOrderError",
    "detect",
    "prefix_device_id",
    "split_device_id",
]
