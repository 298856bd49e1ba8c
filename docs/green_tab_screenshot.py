"""Make docs/green-tab.png: run the quickstart example twice (DE and FR), serve the logdir with a
real TensorBoard and take a screenshot of the Green tab in headless Chromium.

    python docs/green_tab_screenshot.py
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from plugin_fixtures import TensorBoardProcess  # noqa: E402
from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, green_frame, wait_ready  # noqa: E402


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        logdir = Path(tmp) / "runs"
        for name, country in (("quickstart-DE", "DE"), ("quickstart-FR", "FR")):
            subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--logdir", str(logdir),
                            "--name", name, "--country", country, "--epochs", "2"], check=True, stdout=subprocess.DEVNULL)
        tb = TensorBoardProcess(logdir, load_fast=True)
        try:
            tb.wait_for("/data/plugin/green/runs", lambda b: b.count(b'"run"') == 2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1500})
                page.goto(tb.url + "/#green")
                frame = green_frame(page)
                wait_ready(frame, "2 runs")
                out = ROOT / "docs" / "green-tab.png"
                page.screenshot(path=str(out))
                browser.close()
        finally:
            tb.stop()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
