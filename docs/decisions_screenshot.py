"""Make docs/green-tab-decisions.png: the Green tab's "same run elsewhere" panel (the places a user can choose) for
the quickstart run of docs/green_tab_screenshot.py (examples/quickstart.py), in headless Chromium.

    python docs/decisions_screenshot.py [--logdir DIR]   # DIR: reuse (or keep) the example's run
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "docs"))

from green_tab_screenshot import RUN, write_run  # noqa: E402
from plugin_fixtures import TensorBoardProcess  # noqa: E402
from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, green_frame, wait_ready  # noqa: E402

OUT = ROOT / "docs" / "green-tab-decisions.png"


def screenshot(logdir: Path) -> Path:
    from playwright.sync_api import sync_playwright

    write_run(logdir)
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: RUN.encode() in b)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 3600})
                page.goto(tb.url + "/#green")
                frame = green_frame(page)
                wait_ready(frame, RUN)
                frame.wait_for_selector("[data-chart=whatif][data-rendered='1']")
                page.wait_for_timeout(1000)  # chart animations settle
                frame.locator("[data-testid=whatif]").screenshot(path=str(OUT))
            finally:
                browser.close()
    finally:
        tb.stop()
    return OUT


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logdir", type=Path, help="where the example's run is (written there if missing)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"wrote {screenshot(args.logdir or Path(tmp) / 'runs')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
