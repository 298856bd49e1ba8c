"""Quickstart: train a small MLP on synthetic data (CPU, well under a minute) and measure it.

    python examples/quickstart.py                 # writes runs/quickstart
    tensorboard --logdir runs                     # Scalars tab + the Green tab
    python examples/quickstart.py --country FR --name fr --epochs 2

Each epoch has a ``train`` stage (one record per batch via ``update``) and an
``eval`` stage; ``forward`` is nested inside ``train`` for the first batches to
show overlapping stages. The loss and learning rate are watched values.
"""
from __future__ import annotations

import argparse
import os

import torch
from torch import nn

from greenops_tb import GreenSummaryWriter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", default="quickstart", help="run name: writes runs/<name>")
    ap.add_argument("--country", default=os.environ.get("GREENOPS_COUNTRY", "DE"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--logdir", default="runs")
    args = ap.parse_args()

    torch.manual_seed(0)
    x = torch.randn(4096, 32)
    y = (x[:, :4].sum(dim=1, keepdim=True) > 0).float()
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    loss_fn = nn.BCEWithLogitsLoss()
    last_loss = torch.zeros(())

    with GreenSummaryWriter(os.path.join(args.logdir, args.name), country=args.country,
                            watch={"loss": lambda: float(last_loss), "lr": opt}) as writer:
        step = 0
        for epoch in range(args.epochs):
            model.train()
            with writer.stage("train"):
                for i in range(0, len(x), 128):
                    xb, yb = x[i:i + 128], y[i:i + 128]
                    if i < 512:
                        with writer.stage("train/forward"):
                            out = model(xb)
                    else:
                        out = model(xb)
                    loss = loss_fn(out, yb)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    last_loss = loss.detach()
                    writer.add_scalar("loss", last_loss.item(), step)
                    writer.update("train", step=step)
                    step += 1
            sched.step()
            with writer.stage("eval"), torch.no_grad():
                acc = ((model(x) > 0).float() == y).float().mean().item()
                writer.add_scalar("accuracy", acc, epoch)
        print(writer)
        print(f"\nCSV: {writer.csv_path}\nTensorBoard: tensorboard --logdir {args.logdir}")


if __name__ == "__main__":
    main()
