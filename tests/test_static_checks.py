"""The tree passes its static checks: the type checker (mypy, configured in pyproject.toml), the layering contract
(import-linter) and the linter (ruff), each run as CI runs it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import require

ROOT = Path(__file__).resolve().parent.parent

CHECKS = {
    "mypy": ["mypy", "greenops_tb"],
    "lint-imports": ["lint-imports"],
    "ruff": ["ruff", "check", "greenops_tb", "tests", "benchmarks", "scripts", "examples"],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_static_check_passes(name: str) -> None:
    cmd = CHECKS[name]
    require(shutil.which(cmd[0]) is not None, f"{cmd[0]} (pip install -e '.[test]')")
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout[-6000:]}{out.stderr[-2000:]}"
