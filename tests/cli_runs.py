"""Real runs for the CLI tests: a small torch training loop through GreenSummaryWriter."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from training import train


def train_run(log_dir: Path, *, steps: int = 25, hash_chain: bool = True, **green: object) -> Path:
    """A real run (train + eval stages, watched loss) in Germany; returns its CSV path."""
    path = train(log_dir, steps=steps, eval_every=10, country="DE", hash_chain=hash_chain, **green).csv_path
    assert path is not None
    return path


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


def csv_sums(path: Path, stage: str | None = None) -> dict[str, float]:
    """Sums of the energy, CO2 and duration columns over the CSV's rows (of one stage), read with the csv module:
    an expectation independent of every reader in the package."""
    with open(path, newline="", encoding="utf-8") as f:
        found = [r for r in csv.DictReader(f) if stage is None or r["stage"] == stage]
    assert found, f"no rows for stage {stage!r} in {path}"
    return {c: sum(float(r[c]) for r in found) for c in ("energy_kwh", "co2_kg", "duration_s")}
