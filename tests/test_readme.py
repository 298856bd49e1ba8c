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
    """The Usage block, against counts worked out by hand from its code."""
    (csv_path,) = run_dir.glob("runs/*/green.csv")  # SummaryWriter's default log_dir
    records = read_records(csv_path)
    train = [r for r in records if r.stage == "train"]
    assert sum(r.samples or 0 for r in train) == 3 * 20 * 16  # every batch's samples, counted once
    assert {r.epoch for r in train} == {0, 1, 2} and sum(r.stage == "eval" for r in records) == 3
    assert all(r.watched["lr"] == pytest.approx(0.1) for r in train)
    steps = [(r.stage, r.step) for r in records]
    assert len(steps) == len(set(steps)), "a stage repeated a step"
    assert records[-1].run_energy_kwh > 0 and "Germany" in stdout


# blocks with checks of their own, found by a line of their code
CHECKS = {'writer.update("train", samples=len(x))': _check_usage}


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


def cli_lines(text: str) -> list[tuple[int, str]]:
    """(line number, command) of every ``greenops-tb`` line in the README's ```bash blocks, comments cut."""
    out = []
    for m in re.finditer(r"^```bash\n(.*?)^```$", text, re.M | re.S):
        first = text.count("\n", 0, m.start()) + 2
        for i, line in enumerate(m.group(1).splitlines()):
            if line.startswith("greenops-tb "):
                out.append((first + i, line.split("  #", 1)[0].strip()))
    return out


CLI_LINES = cli_lines(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def quickstart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the README's first command ran (one epoch: the same run, shorter)."""
    cwd = tmp_path_factory.mktemp("readme-cli")
    _quickstart_run(cwd, {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""})
    return cwd


def test_readme_shows_the_cli_on_the_quickstart_run() -> None:
    commands = {line.split()[1] for _, line in CLI_LINES}
    assert {"summary", "whatif", "compare", "verify", "report", "export"} <= commands
    assert not [line for _, line in CLI_LINES if re.search(r"runs/[ab]\b", line)], "runs the quickstart never writes"


@pytest.mark.parametrize("line, command", CLI_LINES, ids=[f"README.md:{n}" for n, _ in CLI_LINES])
def test_readme_cli_line_runs_as_written(quickstart_dir: Path, line: int, command: str) -> None:
    """Each ``greenops-tb`` line of the README, through the installed console script, on the quickstart's run."""
    import shlex
    import shutil

    beside = Path(sys.executable).parent / "greenops-tb"  # this interpreter's scripts (a venv need not be on PATH)
    exe = str(beside) if beside.exists() else shutil.which("greenops-tb")
    assert exe, "the greenops-tb console script is not installed (pip install -e .)"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([exe, *shlex.split(command)[1:]], cwd=quickstart_dir, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"README.md:{line} `{command}` exited {proc.returncode}:\n{proc.stderr[-2000:]}"
    assert (proc.stdout + proc.stderr).strip() and "Traceback" not in proc.stderr
    assert not [p for p in quickstart_dir.iterdir() if p.name != "runs"], "README commands write only under runs/"
