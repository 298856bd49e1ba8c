"""Real runs for the CLI tests: a small torch training loop through GreenSummaryWriter."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from greenops_tb import GreenSummaryWriter


def train_run(log_dir: Path, *, steps: int = 25, hash_chain: bool = True, **green: object) -> Path:
    """Train a tiny model for ``steps`` steps (train + eval stages, watched loss); returns the CSV path."""
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(64, 8), torch.randn(64, 1)
    last = {"loss": 0.0}
    with GreenSummaryWriter(str(log_dir), country="DE", hash_chain=hash_chain, watch={"loss": last},
                            **green) as writer:  # type: ignore[arg-type]
        writer.start("train")
        for step in range(steps):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            last["loss"] = loss.item()
            writer.add_scalar("loss", last["loss"], step)
            if step % 10 == 9:
                with writer.stage("eval"), torch.no_grad():
                    model(x)
            writer.update("train")
        writer.stop("train")
        csv_path = writer.csv_path
    assert csv_path is not None
    return Path(csv_path)


def cli_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m greenops_tb ARGS`` in a subprocess (the real console entry point)."""
    return subprocess.run([sys.executable, "-m", "greenops_tb", *args], capture_output=True, text=True, timeout=120)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``greenops-tb ARGS`` in this process: (exit code, stdout, stderr)."""
    from greenops_tb.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))
