"""One rank's own stream in a distributed job: no communication at stage boundaries.

Every rank of a job writes its own shard into the job's ONE run directory (the ``log_dir`` every
rank passes), see ``docs/distributed.md``:

* ``green.rank<k>.csv``: the rank's CSV (its devices, unprefixed ids, its stages);
* ``events.out.tfevents.*.rank<k>``: its event file; its green tags carry ``@r<k>``
  (:func:`~greenops_tb.format.tags.rank_tag`) so TensorBoard keeps each rank's series apart;
* its run metadata's ``extra["shard"]``: rank, world size, host name and host identity.

Readers merge the shards into one job (:mod:`greenops_tb.readers.shards`). torch.distributed is only
asked for rank and world size (:func:`~greenops_tb.distributed.ranks.detect`), never for a
collective: a slow or dead rank costs the others nothing. Host-level sources (RAPL, hwmon) are
measured by one process per host through the local host claim
(:mod:`greenops_tb.distributed.host_claim`), keyed by the job and the host.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

from greenops_tb.distributed.identity import host_identity, job_identity
from greenops_tb.distributed.ranks import RankInfo, cuda_state, detect, rank_gpu

#: ``extra["shard"]["layout"]``: the shard layout's version (readers check it)
SHARD_LAYOUT = 1


def csv_name(rank: int) -> str:
    """The CSV of ``rank`` in the job's run directory."""
    return f"green.rank{rank}.csv"


@dataclass(frozen=True, slots=True)
class RankShard:
    """This process's place in the job and the names of its files."""

    info: RankInfo
    job_key: str | None  # the scheduler's or launcher's key for the job (see identity.job_identity)
    host_id: str

    @property
    def rank(self) -> int:
        return self.info.rank

    @property
    def file_suffix(self) -> str:
        """Appended to the event file's name (``SummaryWriter(filename_suffix=...)``)."""
        return f".rank{self.rank}"

    @property
    def owns_user_events(self) -> bool:
        """The user's own ``add_*`` calls are written by rank 0 only (the rank-zero logging convention)."""
        return self.rank == 0

    def claim_key(self, log_dir: str) -> str:
        """The job as the host claim names it: its key, else its run directory (every rank passes the same)."""
        return self.job_key or f"logdir:{os.path.abspath(log_dir)}"

    def csv_path(self, log_dir: str, given: str | os.PathLike[str] | None) -> str:
        """This rank's CSV: ``<log_dir>/green.rank<k>.csv``, or the given path with ``.rank<k>`` before its suffix."""
        if given is None:
            return os.path.join(log_dir, csv_name(self.rank))
        root, ext = os.path.splitext(os.fspath(given))
        return f"{root}.rank{self.rank}{ext or '.csv'}"

    def default_gpus(self) -> list[int] | str | None:
        """``gpus=`` for the default sources: the GPU this rank uses; when GPUs cannot be told apart per rank
        (more ranks than GPUs on the host), all of them on the host's local rank 0 and none elsewhere."""
        index = rank_gpu(self.info.local_rank, self.info.local_world_size, *cuda_state())
        if index is not None:
            return [index]
        return None if self.info.local_rank == 0 else "none"

    def metadata_extra(self) -> dict[str, Any]:
        """``RunMetadata.extra`` of this rank's shard (readers merge the shards' into the job's)."""
        return {
            "job": job_identity(),
            "shard": {
                "layout": SHARD_LAYOUT, "rank": self.rank, "world_size": self.info.world_size,
                "local_rank": self.info.local_rank, "host": self.info.host, "host_id": self.host_id,
                "launcher": self.info.source,
            },
        }


def attach(distributed: bool | None) -> RankShard | None:
    """This process's shard when it is one rank of several, else None.

    ``distributed``: None = automatic (a process group or the launcher's variables say more than one
    rank); False = measure this process alone; True = require a rank of several.
    """
    if distributed is False:
        return None
    if distributed not in (None, True):
        raise ValueError(f"distributed must be None (automatic), True or False, got {distributed!r}")
    info = detect()
    if not info.distributed:
        if distributed:
            raise ValueError(
                "distributed=True but this process is not one rank of several: launch with torchrun (or set "
                f"RANK and WORLD_SIZE) or call torch.distributed.init_process_group() first (world size now: "
                f"{info.world_size}, from {info.source})"
            )
        return None
    key = job_identity().get("key")
    return RankShard(info, str(key) if key else None, host_identity())


def warn_unused(timeout_s: float, flush_every: int) -> None:
    """``dist_timeout_s`` / ``dist_flush_every`` tuned the old boundary exchange; ranks no longer exchange."""
    if timeout_s != 60.0 or flush_every != 1:
        warnings.warn(
            "greenops_tb: dist_timeout_s and dist_flush_every have no effect: ranks no longer communicate at "
            "stage boundaries (each writes its own shard, see docs/distributed.md); drop them",
            DeprecationWarning, stacklevel=3,
        )


def attach_writer(measure: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> "RankShard | None":
    """This process's shard when it is a rank of a distributed job (``measure``: the writer's ``Measure``), else
    None; a rank's event file gets a name of its own in the run dir (``kwargs``' ``filename_suffix``, unless
    ``args`` give SummaryWriter's)."""
    warn_unused(measure.dist_timeout_s, measure.dist_flush_every)
    job = attach(measure.distributed)
    if job is not None and len(args) < 6:
        kwargs["filename_suffix"] = kwargs.get("filename_suffix", "") + job.file_suffix
    return job
