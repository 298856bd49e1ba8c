"""Make docs/green-tab.png (light) and docs/green-tab-dark.png: run the quickstart example twice (DE and FR),
serve the logdir with a real TensorBoard and take screenshots of the Green tab in headless Chromium.

    python docs/green_tab_screenshot.py [--logdir DIR]   # DIR: reuse (or keep) the example's runs
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

RUNS = (("quickstart-DE", "DE"), ("quickstart-FR", "FR"))
VIEWPORT = {"width": 1400, "height": 1700}


def write_runs(logdir: Path) -> None:
    for name, country in RUNS:
        if not (logdir / name).is_dir():
            subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--logdir", str(logdir),
                            "--name", name, "--country", country], check=True, stdout=subprocess.DEVNULL)


def screenshots(logdir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out = []
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b.count(b'"run"') == len(RUNS))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for theme, name in (("light", "green-tab.png"), ("dark", "green-tab-dark.png")):
                    page = browser.new_page(viewport=VIEWPORT, color_scheme=theme)
                    page.goto(tb.url + "/#green")
                    frame = green_frame(page)
                    wait_ready(frame, f"{len(RUNS)} runs")
                    page.wait_for_timeout(1000)  # chart animations settle
                    out.append(ROOT / "docs" / name)
                    page.screenshot(path=str(out[-1]))
                    page.close()
            finally:
                browser.close()
    finally:
        tb.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logdir", type=Path, help="where the example's runs are (written there if missing)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logdir = args.logdir or Path(tmp) / "runs"
        write_runs(logdir)
        for path in screenshots(logdir):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
