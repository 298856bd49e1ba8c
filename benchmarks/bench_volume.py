"""Bytes per record of the event file and the CSV for a quickstart-like run.

The quickstart's layout (stages ``train`` with ``update()`` per batch, ``eval`` and ``test``; three watched
values; ``watch_model`` on the train stage; the user's own ``add_scalar`` per batch) with a tiny linear model,
so it runs in seconds: the bytes per record depend on what a record holds, not on the model.

    python benchmarks/bench_volume.py [--epochs 4] [--batches 100] [--json]
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
import tempfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from greenops_tb import GreenSummaryWriter  # noqa: E402


def run_once(logdir: str, epochs: int, batches: int) -> dict[str, float]:
    """Write one run into ``logdir``; bytes per record of its event file(s) and CSV."""
    torch.manual_seed(0)
    model = nn.Linear(16, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    last = {"loss": float("nan"), "accuracy": float("nan")}
    with GreenSummaryWriter(logdir, country="DE",
                            watch={"loss": lambda: last["loss"], "lr": opt, "accuracy": lambda: last["accuracy"]}) as w:
        w.watch_model(model, "train")
        step = 0
        for epoch in range(epochs):
            with w.stage("train", epoch=epoch):
                for _ in range(batches):
                    loss = model(torch.randn(8, 16)).square().mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    last["loss"] = loss.item()
                    w.add_scalar("train/loss", last["loss"], step)
                    w.update("train", step=step)
                    step += 1
            with w.stage("eval", step=step, epoch=epoch):
                last["accuracy"] = 0.5
            w.add_scalar("eval/accuracy", last["accuracy"], step)
        with w.stage("test", step=step):
            pass
        csv_path = w.csv_path
    with open(csv_path, newline="") as f:
        rows = sum(1 for _ in csv.DictReader(f))
    events = sum(os.path.getsize(p) for p in glob.glob(os.path.join(logdir, "events.out.tfevents.*")))
    return {"records": rows, "event_bytes": events, "csv_bytes": os.path.getsize(csv_path),
            "event_bytes_per_record": events / rows, "csv_bytes_per_record": os.path.getsize(csv_path) / rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = run_once(os.path.join(tmp, "volume"), args.epochs, args.batches)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['records']} records: event file {res['event_bytes_per_record']:.0f} B/record "
              f"({res['event_bytes']} B), CSV {res['csv_bytes_per_record']:.0f} B/record ({res['csv_bytes']} B)")


if __name__ == "__main__":
    main()
