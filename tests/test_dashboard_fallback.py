"""Installed with GREENOPS_SKIP_FRONTEND=1 (no dashboard bundle), the Green tab says why and how to build it:
a real wheel in a fresh venv, its TensorBoard, and Chromium with no console error and no failed request."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from plugin_fixtures import TensorBoardProcess, write_run
from test_dashboard_browser import chromium, green_frame
from wheel_env import build_wheel, source_copy, user_env, venv_with

BUILD_COMMAND = "npm --prefix frontend ci && npm --prefix frontend run build"


def test_green_tab_without_bundle_explains_how_to_build_it(tmp_path: Path) -> None:
    src = source_copy(tmp_path / "src")  # as a fresh checkout: frontend sources, no built bundle
    wheel = build_wheel(src, tmp_path / "dist", GREENOPS_SKIP_FRONTEND="1")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert "greenops_tb/plugin/static/index.js" not in names and "greenops_tb/plugin/fallback.js" in names
    bin_ = venv_with(wheel, tmp_path / "venv")

    logdir = tmp_path / "logs"
    write_run(logdir, "r", steps=4, eval_every=0)
    tb = TensorBoardProcess(logdir, load_fast=False, python=str(bin_ / "python"), env=user_env(),
                            cwd=tmp_path)  # python -m puts its cwd first on sys.path: not the checkout
    errors: list[str] = []
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: any(r["run"] == "r" for r in json.loads(b)["runs"]))
        status, js = tb.get("/data/plugin/green/static/index.js")
        assert status == 200 and b"export function render" in js and b"GREENOPS_SKIP_FRONTEND" in js
        with chromium() as browser:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
            page.goto(tb.url + "/#green")
            frame = green_frame(page)
            frame.wait_for_selector("body[data-state=no-bundle]", timeout=30_000)
            text = frame.locator("[data-testid=no-bundle]").inner_text()
    finally:
        tb.stop()
    assert "dashboard is not installed" in text and "GREENOPS_SKIP_FRONTEND=1" in text
    assert BUILD_COMMAND in text and "greenops-tb summary LOGDIR" in text
    assert not errors, errors
