"""The footprint build script reproduces the shipped tables from the raw sources kept in the repo."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build_footprint_tables.py"
SHIPPED = REPO / "greenops_tb" / "footprint" / "data"


def _build(src: Path, out: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--src", str(src), "--out", str(out)], check=True,
                   capture_output=True, text=True)


def test_build_script_reproduces_the_shipped_tables(tmp_path: Path) -> None:
    _build(REPO / "data" / "sources", tmp_path)
    for name in ("embodied.json", "water.json"):
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), f"{name} is stale: rebuild it"


def test_tables_follow_the_raw_rows(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(REPO / "data" / "sources", src)
    products = src / "hardware_embodied" / "products.csv"
    rows = list(csv.DictReader(products.open(encoding="utf-8")))
    for r in rows:
        if r["key"] == "nvidia h100 sxm":
            r["kgco2e"] = "1600"
    with products.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    _build(src, tmp_path / "out")
    table = json.loads((tmp_path / "out" / "embodied.json").read_text(encoding="utf-8"))
    assert table["gpu"]["nvidia h100 sxm"]["kgco2e"] == 200.0  # 1600 kg / 8 GPUs
    water = json.loads((tmp_path / "out" / "water.json").read_text(encoding="utf-8"))
    assert water["offsite"]["nuclear"]["l_per_kwh"] == 672 * 3.785411784 / 1000
    assert water["wue"]["aws"]["*"]["l_per_kwh"] == 0.18


def test_a_source_without_a_factor_row_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(REPO / "data" / "sources", src)
    mapping = src / "water" / "source_technology.csv"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("Wind,n/a", "Windmill,n/a"), encoding="utf-8")
    r = subprocess.run([sys.executable, str(SCRIPT), "--src", str(src), "--out", str(tmp_path / "o")],
                       check=False, capture_output=True, text=True)
    assert r.returncode != 0 and "Windmill" in r.stderr
