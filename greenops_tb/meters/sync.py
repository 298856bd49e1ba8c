"""Waiting for queued accelerator work at stage boundaries, so it is charged to the stage that launched it.

* CUDA, and ROCm (torch's HIP build runs under ``torch.cuda``): ``torch.cuda.synchronize()``
  once CUDA is initialised;
* Apple MPS: ``torch.mps.synchronize()`` once MPS holds memory (the MPS backend has no
  "initialised" flag; a process that never put a tensor on ``mps`` has nothing queued).

Which boundaries wait is the writer's ``sync_cuda``: ``start``/``stop`` by default, every ``update``
too with ``"steps"`` (see :class:`greenops_tb.writer.GreenSummaryWriter`).
"""
from __future__ import annotations

import torch


def _mps_in_use() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available() and torch.mps.current_allocated_memory() > 0)


def sync_accelerators() -> None:
    """Synchronise every accelerator this process uses (a no-op on a CPU-only process)."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()
    if _mps_in_use():
        torch.mps.synchronize()
