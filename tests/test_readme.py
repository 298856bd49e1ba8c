"""Every Python code block of README.md runs as written (on CPU, in an empty folder): what a user copies works.

A block that cannot run here (it needs a GPU, torchrun, a cluster) is marked in the README with an HTML comment
on the line before it, ``<!-- not-run: needs torchrun -->``; the test counts those and keeps them few.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from greenops_tb.readers.csv import read_records

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<why>[^>]*?)\s*-->\s*$")
MAX_NOT_RUN = 2


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, code, the not-run reason or None) of each ```python block."""
    out = []
    pos = 0
    while (m := re.search(r"^```python\n(.*?)^```$", text[pos:], re.M | re.S)) is not None:
        start = pos + m.start()
        previous = text[:start].rstrip("\n").rsplit("\n", 1)[-1]
        why = NOT_RUN.search(previous)
        out.append((text.count("\n", 0, start) + 1, m.group(1), why.group("why") if why else None))
        pos += m.end()
    return out


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_readme_has_python_blocks_and_few_not_run() -> None:
    assert BLOCKS, "README.md has no ```python block"
    not_run = [(line, why) for line, _, why in BLOCKS if why is not None]
    assert len(not_run) <= MAX_NOT_RUN, f"too many blocks marked not-run: {not_run}"
    assert all(why for _, why in not_run), "a not-run marker must say why"
    assert len(not_run) < len(BLOCKS)
    marked = "text\n<!-- not-run: needs torchrun -->\n```python\nprint(1)\n```\n"
    assert python_blocks(marked) == [(3, "print(1)\n", "needs torchrun")]  # how a marker is read


def _check_usage(run_dir: Path, stdout: str) -> None:
    """The Usage block, against counts worked out by hand from its code and the loss it logs itself."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (csv_path,) = run_dir.glob("runs/*/green.csv")  # SummaryWriter's default log_dir
    records = read_records(csv_path)
    train = [r for r in records if r.stage == "train"]
    # 3 epochs x (20 batches with one update() each, then the stage's stop), one eval per epoch
    assert len(train) == 3 * (20 + 1) and sum(r.stage == "eval" for r in records) == 3
    assert [r.epoch for r in train[::21]] == [0, 1, 2]
    events = EventAccumulator(str(csv_path.parent), size_guidance={"scalars": 0})
    events.Reload()
    logged = [e.value for e in events.Scalars("loss")]  # the block's own add_scalar("loss", ..., step)
    assert len(logged) == 60
    per_record = [logged[e * 20 + min(i, 19)] for e in range(3) for i in range(21)]  # a stop repeats the last
    assert [r.watched["loss"] for r in train] == pytest.approx(per_record, rel=1e-6)
    assert "Germany" in stdout and "forecast train" in stdout


# blocks with checks of their own, found by a line of their code
CHECKS = {'writer.watch("loss", lambda: last_loss)': _check_usage}


def _quickstart_run(cwd: Path, env: dict[str, str]) -> None:
    """What the README's first command leaves behind (runs/quickstart), in one epoch."""
    example = ROOT / "examples" / "quickstart.py"
    subprocess.run([sys.executable, str(example), "--epochs", "1"], cwd=cwd, env=env, check=True,
                   capture_output=True, timeout=600)


# blocks that read what an earlier README command wrote, found by the path they read
PREPARE = {"runs/quickstart": _quickstart_run}


@pytest.mark.parametrize("line, code", [(line, code) for line, code, why in BLOCKS if why is None],
                         ids=[f"README.md:{line}" for line, _, why in BLOCKS if why is None])
def test_readme_python_block_runs_as_written(tmp_path: Path, line: int, code: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}  # this checkout's code, on CPU
    for needle, prepare in PREPARE.items():
        if needle in code:
            prepare(tmp_path, env)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"README.md:{line} failed:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    # whatever a block records is readable back, with records of every stage it opens
    for csv_path in tmp_path.rglob("green.csv"):
        records = read_records(csv_path)
        opened = set(re.findall(r"""stage\(["']([\w./-]+)["']""", code))
        assert records and opened <= {r.stage for r in records}, (opened, csv_path)
    for needle, check in CHECKS.items():
        if needle in code:
            check(tmp_path, proc.stdout)


def test_blocks_with_checks_are_in_the_readme() -> None:
    for needle in CHECKS:
        assert any(needle in code for _, code, why in BLOCKS if why is None), needle
