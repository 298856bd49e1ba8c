"""A real training loop through GreenSummaryWriter, shared by the tests that need a real run."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from greenops_tb import GreenSummaryWriter
from greenops_tb.recording.totals import RunTotals


@dataclass(frozen=True)
class TrainedRun:
    totals: RunTotals  # writer.totals() at the end: what every reader must show
    csv_path: Path | None


def train(log_dir: Path, *, steps: int = 24, eval_every: int = 8, **writer_options: Any) -> TrainedRun:
    """Train a tiny MLP: ``train`` stage with one ``update`` per step, ``eval`` every ``eval_every`` steps, loss watched."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(256, 16), torch.randn(256, 1)
    last = {"loss": 0.0}
    with GreenSummaryWriter(str(log_dir), watch={"loss": last}, **writer_options) as writer:
        writer.start("train")
        for step in range(steps):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            last["loss"] = loss.item()
            writer.add_scalar("loss", last["loss"], step)
            if eval_every and step % eval_every == eval_every - 1:
                with writer.stage("eval"), torch.no_grad():
                    model(x)
            writer.update("train", step=step)
        writer.stop("train")
        totals = writer.totals()
        csv_path = writer.csv_path
    return TrainedRun(totals, Path(csv_path) if csv_path else None)
