"""The docs site builds with mkdocs-material in strict mode (every nav entry, link and API page resolves)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from conftest import require

ROOT = Path(__file__).resolve().parent.parent


def test_docs_site_builds_strict(tmp_path: Path) -> None:
    require(importlib.util.find_spec("mkdocs") is not None, "mkdocs (pip install -e '.[test]')")
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "GreenSummaryWriter" in api and "update" in api  # mkdocstrings rendered the writer's docstrings
    for page in ("getting-started", "green-tab", "numbers", "cli", "reliability", "architecture"):
        assert (site / page / "index.html").is_file(), page
