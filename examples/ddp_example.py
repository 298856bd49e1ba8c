"""DDP on CPU with job-wide energy: ``torchrun --nproc_per_node 2 examples/ddp_example.py``.

Every rank creates the writer with the same log dir; each measures its own
devices and writes its own shard into ``runs/ddp`` (``green.rank<k>.csv`` and an
event file ending ``.rank<k>``), with no communication between ranks; the host's
CPU/RAM are measured once (by one rank per host). Readers show ONE run with the
job's totals and the per-rank and per-host breakdown (docs/distributed.md).
Also runs as a single process: ``python examples/ddp_example.py``.

    greenops-tb summary runs/ddp  # the job
    tensorboard --logdir runs     # Green tab
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from greenops_tb import GreenSummaryWriter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-dir", default="runs/ddp")
    ap.add_argument("--country", default="DE")
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()

    if "RANK" in os.environ:  # launched by torchrun
        dist.init_process_group("gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    if dist.is_initialized():
        model = DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = TensorDataset(torch.randn(1024, 32), torch.randn(1024, 1))
    sampler = DistributedSampler(data, shuffle=True) if dist.is_initialized() else None
    loader = DataLoader(data, batch_size=64, sampler=sampler, shuffle=sampler is None)
    last = {"loss": float("nan")}

    writer = GreenSummaryWriter(args.log_dir, country=args.country, watch={"loss": last})
    step = 0
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        with writer.stage("train"):
            for x, y in loader:
                loss = torch.nn.functional.mse_loss(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                last["loss"] = loss.item()
                writer.add_scalar("loss", last["loss"], step)  # written by rank 0 only
                writer.update("train", step=step)
                step += 1
        with writer.stage("eval"), torch.no_grad():
            model(data.tensors[0])
    writer.close()
    if rank == 0:
        print(writer)  # this rank's shard; the job: greenops-tb summary <log dir>
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
