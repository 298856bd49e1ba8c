"""Make the Green tab's screenshots from a real run: run the quickstart example (examples/quickstart.py), serve
the logdir with a real TensorBoard and take, in headless Chromium at 1440x900,

- docs/green-tab.png and docs/green-tab-dark.png: the first screen, light and dark;
- docs/green-tab-full.png: the whole tab (light), every section down to the collapsed fine print.

    python docs/green_tab_screenshot.py [--logdir DIR]   # DIR: reuse (or keep) the example's run
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

RUN, COUNTRY = "quickstart", "DE"
VIEWPORT = {"width": 1440, "height": 900}
SHOTS = (("light", "green-tab.png", False), ("dark", "green-tab-dark.png", False), ("light", "green-tab-full.png", True))


def write_run(logdir: Path) -> None:
    if not (logdir / RUN).is_dir():
        subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--logdir", str(logdir),
                        "--name", RUN, "--country", COUNTRY], check=True, stdout=subprocess.DEVNULL)


def screenshots(logdir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out = []
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: RUN.encode() in b)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for theme, name, full in SHOTS:
                    page = browser.new_page(viewport=VIEWPORT, color_scheme=theme)
                    page.goto(tb.url + "/#green")
                    frame = green_frame(page)
                    wait_ready(frame, RUN)
                    frame.wait_for_selector("[data-chart=whatif][data-rendered='1']", timeout=30_000)
                    page.wait_for_timeout(1000)  # chart animations settle
                    out.append(ROOT / "docs" / name)
                    if full:  # TensorBoard's page does not scroll, its iframe does: shoot the iframe's document
                        height = frame.evaluate("document.documentElement.scrollHeight")
                        top = page.locator("iframe").first.bounding_box()
                        page.set_viewport_size({"width": VIEWPORT["width"], "height": height + int(top["y"] if top else 0)})
                        page.wait_for_timeout(1000)
                        frame.locator("body").screenshot(path=str(out[-1]))
                    else:
                        page.screenshot(path=str(out[-1]))
                    page.close()
            finally:
                browser.close()
    finally:
        tb.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logdir", type=Path, help="where the example's run is (written there if missing)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logdir = args.logdir or Path(tmp) / "runs"
        write_run(logdir)
        for path in screenshots(logdir):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
