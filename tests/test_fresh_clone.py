"""A fresh clone, with nothing beside it, rebuilds its embedded data from its own raw sources and tests it."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require

REPO = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{args} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed HEAD of the tree under test, cloned into an empty folder (no ../shared beside it)."""
    require(shutil.which("git") is not None and (REPO / ".git").exists(), "git and a git checkout")
    head = _run(["git", "rev-parse", "HEAD"], cwd=REPO).stdout.strip()
    dest = tmp_path_factory.mktemp("fresh") / "greenops_tb"
    _run(["git", "clone", "--quiet", "--no-checkout", str(REPO), str(dest)], cwd=dest.parent)
    _run(["git", "checkout", "--quiet", head], cwd=dest)
    assert not (dest.parent / "shared").exists()
    return dest


def _decoded(path: Path) -> object:
    return json.loads(gzip.decompress(path.read_bytes()))


def test_clone_rebuilds_the_shipped_grid_dataset_from_its_own_sources(clone: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.json.gz"
    _run([sys.executable, "scripts/build_dataset.py", "--out", str(out)], cwd=clone)  # default --data: data/sources
    assert _decoded(out) == _decoded(clone / "greenops_tb" / "grid" / "data" / "grid.json.gz")


def test_clone_rebuilds_the_shipped_hardware_tables(clone: Path, tmp_path: Path) -> None:
    _run([sys.executable, "scripts/build_hardware_tables.py", "--out", str(tmp_path)], cwd=clone)
    for name in ("cpu_tdp.csv", "gpu_tdp.csv"):
        built = (tmp_path / name).read_text(encoding="utf-8")
        assert built == (clone / "greenops_tb" / "meters" / "data" / name).read_text(encoding="utf-8"), name
        assert built.count("\n") > 100


def test_clone_runs_its_grid_data_tests(clone: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(clone)}  # the clone's code, not this checkout's or the editable install's
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_grid_data.py"], cwd=clone,
               env=env)
    assert " passed" in out.stdout and "failed" not in out.stdout and "skipped" not in out.stdout, out.stdout[-2000:]
