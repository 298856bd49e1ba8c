"""The HF and Lightning examples, run as a user runs them: the run name they print is the one TensorBoard,
``greenops-tb summary`` and the CSV use (``hf/green``), not two names for one run."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.context import RequestContext

from conftest import require
from greenops_tb.readers.csv import read_records
from greenops_tb.readers.events import local_provider, read_runs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("example, module, out_flag, folder", [
    ("hf_example.py", "transformers", "--output-dir", "hf"),
    ("lightning_example.py", "lightning", "--root", "lightning"),
])
def test_example_prints_the_run_name_tensorboard_and_summary_show(tmp_path: Path, example: str, module: str,
                                                                   out_flag: str, folder: str) -> None:
    require(importlib.util.find_spec(module) is not None, f"{module} (pip install 'greenops_tb[{folder}]')")
    logdir = tmp_path / "runs"
    proc = subprocess.run([sys.executable, str(EXAMPLES / example), "--epochs", "1", out_flag, str(logdir / folder)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = re.findall(r"^greenops_tb run '([^']+)':", proc.stdout, re.M)
    assert printed == [f"{folder}/green"]  # the folder under the logdir, as TensorBoard names runs

    shown_by_tensorboard = list(read_runs(local_provider(str(logdir)), RequestContext(), ""))
    summary = subprocess.run([sys.executable, "-m", "greenops_tb", "summary", str(logdir), "--json"],
                             capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0, summary.stderr
    in_csv = {r.run for r in read_records(logdir / folder / "green" / "green.csv")}
    assert shown_by_tensorboard == [s["run"] for s in json.loads(summary.stdout)] == printed
    assert in_csv == set(printed)
