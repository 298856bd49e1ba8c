"""The README's first command: the quickstart example runs and writes a run every reader understands."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tensorboard import context

from greenops_tb.readers.csv import read_records
from greenops_tb.readers.events import local_provider, read_runs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE = EXAMPLES / "quickstart.py"


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
    assert len(train) == 256  # one update(step=) per batch; the stage's stop extends the last one's record
    assert [r.step for r in train] == list(range(256))
    assert all(r.location == "FR" and r.location_source == "argument:country" for r in recs)
    assert {"loss", "lr", "train.forward_kwh", "train.backward_kwh"} <= set(train[-1].watched)
    runs = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")
    last = runs["quickstart"].records[-1]
    assert last.seq == recs[-1].seq and last.run_energy_kwh == recs[-1].run_energy_kwh > 0


def test_inference_variants_benches_every_standard_variant(tmp_path: Path) -> None:
    """The inference example (torch.compile included): every standard variant measured or listed with why not."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "inference_variants.py"), "--logdir", str(tmp_path), "--country", "FR",
         "--requests", "40", "--rounds", "3"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "at 1,000,000 requests per day" in proc.stdout and "recommended" in proc.stdout
    bench = tmp_path / "cnn"
    manifest = json.loads((bench / "inference.json").read_text())
    variants = {v["name"]: v for v in manifest["variants"]}
    assert set(variants) == {"eager", "inference_mode", "torchscript", "compile", "autocast_bf16", "autocast_fp16",
                             "channels_last"}
    for name, v in variants.items():
        if v["reason"]:  # not built: said why, and no run
            assert v["run"] == "" and name in proc.stdout.split("not built:")[1]
        else:  # its own run, 3 rounds of 40 requests
            recs = [r for r in read_records(bench / name / "green.csv") if r.stage == "infer_b1"]
            assert len(recs) == 3 and all(r.samples == 40 and r.energy_kwh > 0 for r in recs)
    assert not variants["eager"]["reason"] and not variants["channels_last"]["reason"]
