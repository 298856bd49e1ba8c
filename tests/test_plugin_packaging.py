"""A wheel built from this tree ships the Green tab's bundle and registers the plugin entry point."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import require

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_bundle_and_entry_point(tmp_path: Path) -> None:
    require(shutil.which("npm") is not None and shutil.which("node") is not None, "node and npm (apt-get install nodejs npm)")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    wheel = next(tmp_path.glob("greenops_tb-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        bundle = z.read("greenops_tb/plugin/static/index.js")
        entry_points = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert len(bundle) > 100_000 and b"render" in bundle
    assert "green = greenops_tb.plugin.loader:GreenLoader" in entry_points
    assert not any("node_modules" in n for n in names)
