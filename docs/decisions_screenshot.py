"""Make docs/green-tab-decisions.png: the Green tab's totals with their ranges, the efficiency cards and "the same
run elsewhere" for a quickstart run (examples/quickstart.py, which counts its samples), in headless Chromium.

    python docs/decisions_screenshot.py [--logdir DIR]   # DIR: reuse (or keep) the example's run
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from plugin_fixtures import TensorBoardProcess  # noqa: E402
from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, green_frame, wait_ready  # noqa: E402

RUN, COUNTRY, EPOCHS = "quickstart-DE", "DE", "3"
OUT = ROOT / "docs" / "green-tab-decisions.png"


def screenshot(logdir: Path) -> Path:
    from playwright.sync_api import sync_playwright

    if not (logdir / RUN).is_dir():
        subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--logdir", str(logdir), "--name", RUN,
                        "--country", COUNTRY, "--epochs", EPOCHS], check=True, stdout=subprocess.DEVNULL)
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: RUN.encode() in b)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 3000})
                page.goto(tb.url + "/#green")
                frame = green_frame(page)
                wait_ready(frame, RUN)
                frame.wait_for_selector("[data-chart=whatif][data-rendered='1']")
                page.wait_for_timeout(1000)  # chart animations settle
                top = frame.locator("[data-testid=headline]").bounding_box()
                bottom = frame.locator("[data-testid=whatif]").bounding_box()
                assert top and bottom
                page.screenshot(path=str(OUT), clip={"x": top["x"] - 12, "y": top["y"] - 8, "width": top["width"] + 24,
                                                     "height": bottom["y"] + bottom["height"] - top["y"] + 16})
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
