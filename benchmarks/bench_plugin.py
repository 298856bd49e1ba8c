"""Green tab benchmarks against a real ``tensorboard`` (Rust data server, default retention):

* warm p50 latency of each route on a generated logdir of 50 runs x 20k records
  (target <= 100 ms), side by side with TensorBoard's own scalars route on the same run;
* time to first chart in headless Chromium (target <= 1.5 s), next to the time
  TensorBoard's own page takes to load in the same browser.

    python benchmarks/bench_plugin.py [--quick]     # writes benchmarks/results/plugin.json
"""
from __future__ import annotations

import json
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from common import median, ratio, row, standalone  # noqa: E402
from gen_logdir import GenSpec, cached  # noqa: E402
from greenops_tb.plugin.cache import LISTING_TTL_S  # noqa: E402
from plugin_fixtures import TensorBoardProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _wait_loaded(tb: TensorBoardProcess, runs: int, timeout: float = 900.0) -> float:
    """Seconds until TensorBoard lists every run and their latest steps stop moving."""
    t0 = time.perf_counter()
    last = None
    while time.perf_counter() - t0 < timeout:
        body = tb.wait_for("/data/plugin/green/runs", lambda b: b.count(b'"run"') >= runs, timeout=timeout)
        state = [(r["run"], r["max_step"]) for r in json.loads(body)["runs"]]
        if state == last:
            return time.perf_counter() - t0
        last = state
        time.sleep(3.0)
    raise TimeoutError("tensorboard did not finish loading the logdir")


def _p50_ms(tb: TensorBoardProcess, paths: list[str], rounds: int, gap_s: float = 0.0) -> float:
    samples = []
    for i in range(rounds):
        time.sleep(gap_s)
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        status, _ = tb.get(path, timeout=60)
        samples.append((time.perf_counter() - t0) * 1e3)
        assert status == 200, (path, status)
    return median(samples)


def route_latency(logdir: Path, runs: list[str], rounds: int) -> tuple[dict[str, float], float, float]:
    """p50 ms per route (warm), TensorBoard's scalars route p50 ms, and the load time (s)."""
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        load_s = _wait_loaded(tb, len(runs))
        q = [urllib.parse.quote(r) for r in runs]
        routes = {
            "runs": ["/data/plugin/green/runs"],
            "summary": [f"/data/plugin/green/summary?run={r}" for r in q],
            "series (500 points)": [f"/data/plugin/green/series?run={r}&points=500" for r in q],
            "mix": [f"/data/plugin/green/mix?run={r}" for r in q],
            "watched (500 points)": [f"/data/plugin/green/watched?run={r}&points=500" for r in q],
            "compare (5 runs)": ["/data/plugin/green/compare?" + "&".join(f"run={r}" for r in q[i:i + 5])
                                 for i in range(0, len(q), 5)],
        }
        baseline = [f"/data/plugin/scalars/scalars?run={r}&tag=green%2Ftrain%2Fenergy_kwh" for r in q]
        for paths in [*routes.values(), baseline]:  # warm: every path once
            for p in paths:
                tb.get(p, timeout=120)
        out = {name: _p50_ms(tb, paths, rounds) for name, paths in routes.items()}
        # the plugin reuses the provider's run listing for LISTING_TTL_S: also time requests that refresh it
        out["summary, listing refreshed"] = _p50_ms(tb, routes["summary"], 7, gap_s=LISTING_TTL_S + 0.1)
        return out, _p50_ms(tb, baseline, rounds), load_s
    finally:
        tb.stop()


def first_chart(logdir: Path, tries: int) -> tuple[float, float, float]:
    """Median seconds from navigation to the Green tab's first drawn chart, to TensorBoard's page load,
    and from the Green iframe's own navigation start to its first chart."""
    from playwright.sync_api import sync_playwright

    tb = TensorBoardProcess(logdir, load_fast=True)
    chart, shell, inner = [], [], []
    try:
        _wait_loaded(tb, 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for _ in range(tries):
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = ctx.new_page()
                    t0 = time.perf_counter()
                    page.goto(tb.url + "/#green", wait_until="load")
                    shell.append(time.perf_counter() - t0)
                    page.wait_for_selector("iframe", timeout=60_000)
                    frame = None
                    while frame is None:
                        frame = next((f for f in page.frames if "plugin_entry.html" in f.url), None)
                        page.wait_for_timeout(5) if frame is None else None
                    frame.wait_for_selector("[data-rendered='1']", timeout=60_000)
                    chart.append(time.perf_counter() - t0)
                    inner.append(frame.evaluate("performance.getEntriesByName('green:first-chart', 'mark')[0].startTime") / 1e3)
                    ctx.close()
            finally:
                browser.close()
    finally:
        tb.stop()
    return median(chart), median(shell), median(inner)


def run(quick: bool = False) -> list[dict]:
    spec = GenSpec(runs=2, records=2000) if quick else GenSpec(runs=50, records=20000)
    logdir = cached(spec)
    runs = sorted(p.name for p in logdir.iterdir() if p.is_dir())
    size = f"{spec.runs} runs x {spec.records:,} records"
    latency, base_ms, load_s = route_latency(logdir, runs, rounds=10 if quick else 60)
    base = f"TensorBoard's scalars route, one tag, same run: p50 {base_ms:.1f} ms"
    rows = [
        row(f"Green route /{name}, warm p50, {size}", ms, "ms", baseline=base, ratio=ratio(ms, base_ms),
            target="<= 100 ms", note=f"real tensorboard --load_fast=true, default retention; loaded in {load_s:.0f} s")
        for name, ms in latency.items()
    ]
    chart_s, shell_s, inner_s = first_chart(logdir, tries=2 if quick else 5)
    rows.append(row(f"time to first Green chart in Chromium, {size}", chart_s, "s",
                    baseline=f"TensorBoard page load event: {shell_s:.2f} s", ratio=ratio(chart_s, shell_s),
                    target="<= 1.5 s", note="navigation to #green until the first ECharts 'finished' event; "
                    "median of fresh browser contexts"))
    rows.append(row(f"time to first Green chart from the tab's iframe start, {size}", inner_s, "s",
                    baseline=f"whole page: {chart_s:.2f} s", ratio=ratio(inner_s, chart_s), target="<= 1.5 s",
                    note="iframe performance.now() at the first chart: the Green tab's own share"))
    return rows


def main() -> int:
    return standalone("plugin", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
