"""torch.distributed-aware measurement: each rank its own shard, host-level energy once per host, breakdowns."""
from greenops_tb.distributed.breakdown import energy_by_host, energy_by_rank
from greenops_tb.distributed.host_claim import host_level
from greenops_tb.distributed.ranks import RankInfo, detect, prefix_device_id, split_device_id
from greenops_tb.distributed.shard import RankShard, attach

__all__ = [
    "RankInfo",
    "RankShard",
    "attach",
    "detect",
    "energy_by_host",
    "energy_by_rank",
    "host_level",
    "prefix_device_id",
    "split_device_id",
]
