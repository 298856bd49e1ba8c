"""The README's first command: the quickstart example runs and writes a run every reader understands."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tensorboard import context

from greenops_tb.readers.csv import read_records
from greenops_tb.readers.events import local_provider, read_runs

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_quickstart_writes_a_run_with_every_stage(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", "1", "--logdir", str(tmp_path), "--country", "FR"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "France" in proc.stdout and "test accuracy" in proc.stdout
    recs = read_records(tmp_path / "quickstart" / "green.csv")
    assert {r.stage for r in recs} == {"train", "eval", "test"}
    train = [r for r in recs if r.stage == "train"]
    assert len(train) == 256 + 1  # one update per batch, then the stage's stop
    assert all(r.location == "FR" and r.location_source == "argument:country" for r in recs)
    assert {"loss", "lr", "train.forward_kwh", "train.backward_kwh"} <= set(train[-1].watched)
    runs = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")
    last = runs["quickstart"].records[-1]
    assert last.seq == recs[-1].seq and last.run_energy_kwh == recs[-1].run_energy_kwh > 0
