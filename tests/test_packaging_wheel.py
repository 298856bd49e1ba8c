"""`pip install .` gives a working package: the wheel, installed into a fresh virtualenv and used from a directory
outside the repository, measures a stage, runs the CLI and serves the Green tab's bundle from its installed files."""
from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import require
from plugin_fixtures import TensorBoardProcess
from wheel_env import ROOT, build_wheel, run, user_env, venv_with

# what the installed package must contain besides its modules (the data the runtime opens)
DATA_FILES = (
    "greenops_tb/meters/data/cpu_tdp.csv",
    "greenops_tb/meters/data/gpu_tdp.csv",
    "greenops_tb/meters/data/NOTICE",
    "greenops_tb/grid/data/grid.json.gz",
    "greenops_tb/grid/data/PROVENANCE.md",
    "greenops_tb/plugin/static/index.js",
)

USE = """
import json, sys
import torch
import greenops_tb
from greenops_tb import GreenSummaryWriter
from greenops_tb.plugin import plugin

with GreenSummaryWriter(sys.argv[1], country="FR") as writer:
    with writer.stage("train"):
        x = torch.randn(64, 64)
        for _ in range(20):
            x = torch.tanh(x @ x.T / 64)
    totals = writer.totals()
print(json.dumps({"file": greenops_tb.__file__, "static": plugin.STATIC_DIR, "csv": str(writer.csv_path),
                  "energy_kwh": totals.total.energy_kwh}))
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the virtualenv's bin/, the wheel): the wheel built from this tree, installed into a fresh venv."""
    require(shutil.which("npm") is not None and shutil.which("node") is not None, "node and npm (apt-get install nodejs npm)")
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(ROOT, tmp / "dist")
    return venv_with(wheel, tmp / "venv"), wheel


def test_wheel_ships_every_data_file(venv: tuple[Path, Path]) -> None:
    _, wheel = venv
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert set(DATA_FILES) <= names, sorted(set(DATA_FILES) - names)
    # every file under a data/ folder of the source tree is in the wheel (new data folders included)
    in_tree = {p.relative_to(ROOT).as_posix() for p in (ROOT / "greenops_tb").glob("**/data/*") if p.is_file()}
    assert in_tree and in_tree <= names, sorted(in_tree - names)
    assert not any(n.startswith(("tests/", "frontend/", "data/")) or "node_modules" in n for n in names)
    with zipfile.ZipFile(wheel) as z:  # the built bundle and the plugin's entry point
        bundle = z.read("greenops_tb/plugin/static/index.js")
        entry_points = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert len(bundle) > 100_000 and b"render" in bundle
    assert "green = greenops_tb.plugin.loader:GreenLoader" in entry_points
    assert "greenops-tb = greenops_tb.cli:main" in entry_points


def test_installed_wheel_measures_runs_the_cli_and_serves_the_tab(venv: tuple[Path, Path], tmp_path: Path) -> None:
    bin_, wheel = venv
    work = tmp_path / "user"  # outside the repository: nothing of the checkout is importable from here
    work.mkdir()
    (work / "use.py").write_text(USE)
    used = json.loads(run([str(bin_ / "python"), "use.py", str(work / "runs" / "w")], cwd=work).stdout.splitlines()[-1])
    site = (bin_.parent / "lib").resolve()
    for key in ("file", "static"):  # the package and the bundle TensorBoard serves below are the venv's copies
        assert Path(used[key]).resolve().is_relative_to(site), f"{key} is {used[key]}, not in the venv"
    with open(used["csv"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["stage"] for r in rows] == ["train"] and float(rows[0]["energy_kwh"]) == pytest.approx(used["energy_kwh"])

    doctor = run([str(bin_ / "greenops-tb"), "doctor", "--country", "FR"], cwd=work).stdout
    assert "A writer would measure" in doctor and "FR" in doctor
    summary = run([str(bin_ / "greenops-tb"), "summary", "runs"], cwd=work).stdout
    assert "run w:" in summary and "FR" in summary
    assert [line.split()[:2] for line in summary.splitlines() if line.startswith(("train ", "total "))] == \
        [["train", "1"], ["total", "1"]]

    with zipfile.ZipFile(wheel) as z:
        bundle = z.read("greenops_tb/plugin/static/index.js")
    tb = TensorBoardProcess(work / "runs", load_fast=False, python=str(bin_ / "python"), env=user_env(),
                            cwd=tmp_path)  # python -m puts its cwd first on sys.path: not the checkout
    try:
        listing = json.loads(tb.wait_for("/data/plugins_listing", lambda b: "green" in json.loads(b)))
        assert listing["green"]["tab_name"] == "Green"
        tb.wait_for("/data/plugin/green/runs", lambda b: any(r["run"] == "w" for r in json.loads(b)["runs"]))
        status, js = tb.get("/data/plugin/green/static/index.js")
        assert status == 200 and js == bundle
    finally:
        tb.stop()
