"""Green tab benchmarks against a real ``tensorboard`` (Rust data server), at two retentions:

* full retention (``--samples_per_plugin green=0,scalars=0``: every record of the stated scale reaches the routes)
  and TensorBoard's default retention (10 green records per stage, 1000 scalar points per tag);
* warm p50 latency of each route (target <= 100 ms), each row saying how many records or points its route read;
* the same-work baseline: ``/series?points=1000`` against TensorBoard's own scalars route fetching the same
  tags of the same run (1000 points each, one request per tag, as its dashboard does);
* time to first chart in headless Chromium (target <= 1.5 s), and TensorBoard's own page load in the same browser.

    python benchmarks/bench_plugin.py [--quick]     # prints its rows (RESULTS.md: run_all.py)
"""
from __future__ import annotations

import json
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from common import Stat, interleave, row, standalone  # noqa: E402
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


FULL = ("--samples_per_plugin", "green=0,scalars=0")
SAME_WORK_POINTS = 1000  # TensorBoard's scalars route downsamples each tag to 1000 points


def _ms(tb: TensorBoardProcess, path: str) -> float:
    t0 = time.perf_counter()
    status, _ = tb.get(path, timeout=120)
    assert status == 200, (path, status)
    return (time.perf_counter() - t0) * 1e3


def _cycle(tb: TensorBoardProcess, paths: list[str], gap_s: float = 0.0):
    it = iter(range(10**9))

    def sample() -> float:
        time.sleep(gap_s)
        return _ms(tb, paths[next(it) % len(paths)])
    return sample


def _json(tb: TensorBoardProcess, path: str) -> dict:
    status, body = tb.get(path, timeout=120)
    assert status == 200, (path, status, body[:200])
    return json.loads(body)


def route_latency(logdir: Path, runs: list[str], rounds: int, extra: tuple[str, ...], refreshes: int) -> dict:
    """Route -> (Stat of ms, what it read), the same-work pair, and the load time (s)."""
    tb = TensorBoardProcess(logdir, load_fast=True, extra=extra)
    try:
        load_s = _wait_loaded(tb, len(runs))
        q = [urllib.parse.quote(r) for r in runs]
        kept = _json(tb, f"/data/plugin/green/summary?run={q[0]}").get("records_kept")
        series = _json(tb, f"/data/plugin/green/series?run={q[0]}&points=500")["stages"]
        pts = sum(len(m["value"]) for ms in series.values() for m in ms.values())
        tags = [f"green/{st}/{m}" for st, ms in series.items() for m in ms]
        watched = _json(tb, f"/data/plugin/green/watched?run={q[0]}&points=500")["stages"]
        wpts = sum(len(m["value"]) for ms in watched.values() for m in ms.values())
        recs = f"reads {kept:,} green records of the run" if kept is not None else "reads the run's green records"
        routes = {
            "/runs": (["/data/plugin/green/runs"], f"lists {len(runs)} runs (no records read)"),
            "/summary": ([f"/data/plugin/green/summary?run={r}" for r in q], recs),
            "/series?points=500": ([f"/data/plugin/green/series?run={r}&points=500" for r in q],
                                   f"returns {pts:,} points ({len(tags)} tags)"),
            "/mix": ([f"/data/plugin/green/mix?run={r}" for r in q], recs),
            "/watched?points=500": ([f"/data/plugin/green/watched?run={r}&points=500" for r in q],
                                    f"returns {wpts:,} points"),
            "/compare (5 runs)": (["/data/plugin/green/compare?" + "&".join(f"run={r}" for r in q[i:i + 5])
                                   for i in range(0, len(q), 5)], recs.replace("the run", "each of 5 runs")),
        }
        same = [f"/data/plugin/green/series?run={r}&points={SAME_WORK_POINTS}" for r in q]

        def tb_scalars(i=iter(range(10**9))) -> float:  # noqa: B008 - one cursor over the runs
            r = q[next(i) % len(q)]
            return sum(_ms(tb, f"/data/plugin/scalars/scalars?run={r}&tag={urllib.parse.quote(t, safe='')}")
                       for t in tags)
        one = _json(tb, f"/data/plugin/scalars/scalars?run={q[0]}&tag={urllib.parse.quote(tags[0], safe='')}")
        for paths, _ in [*routes.values(), (same, "")]:  # warm: every path once
            for p in paths:
                tb.get(p, timeout=120)
        variants = {name: _cycle(tb, paths) for name, (paths, _) in routes.items()}
        variants["same.green"] = _cycle(tb, same)
        variants["same.tb"] = tb_scalars
        stats = {k: Stat.of(v) for k, v in interleave(variants, rounds).items()}
        # the plugin reuses the provider's run listing for LISTING_TTL_S: also time requests that refresh it
        refreshed = Stat.of([_cycle(tb, routes["/summary"][0], LISTING_TTL_S + 0.1)() for _ in range(refreshes)])
        return {"routes": {n: (stats[n], what) for n, (_, what) in routes.items()},
                "refreshed": (refreshed, recs), "same": (stats["same.green"], stats["same.tb"], len(tags), len(one)),
                "load_s": load_s}
    finally:
        tb.stop()


def first_chart(logdir: Path, tries: int) -> tuple[Stat, Stat, Stat]:
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
    return Stat.of(chart), Stat.of(shell), Stat.of(inner)


def run(quick: bool = False) -> list[dict]:
    spec = GenSpec(runs=2, records=2000) if quick else GenSpec(runs=10, records=20000)
    logdir = cached(spec)
    runs = sorted(p.name for p in logdir.iterdir() if p.is_dir())
    size = f"{spec.runs} runs x {spec.records:,} records"
    rounds = 10 if quick else 20
    rows: list[dict] = []
    retentions = (("full retention", FULL), ("default retention", ()))
    for retention, extra in retentions[:1] if quick else retentions:  # quick: full retention only
        r = route_latency(logdir, runs, rounds, extra, refreshes=2 if quick else 5)
        where = f"{size}, {retention}"
        how = (f"real tensorboard --load_fast=true{' ' + ' '.join(extra) if extra else ''}, loaded in "
               f"{r['load_s']:.0f} s; {rounds} requests interleaved across routes and runs")
        for name, (stat, what) in r["routes"].items():
            rows.append(row(f"Green route {name}, warm p50, {where}", stat, "ms", target="<= 100 ms",
                            met=stat.median <= 100, note=f"{what}; {how}"))
        stat, what = r["refreshed"]
        rows.append(row(f"Green route /summary with the run listing refreshed, p50, {where}", stat, "ms",
                        target="<= 100 ms", met=stat.median <= 100,
                        note=f"{what}; {stat.n} requests {LISTING_TTL_S}+ s apart"))
        green, tb, tags, points = r["same"]
        rows.append(row(f"Green route /series?points={SAME_WORK_POINTS} vs TensorBoard's scalars route, same "
                        f"{tags} tags of one run, {where}", green, "ms",
                        baseline=f"TensorBoard /data/plugin/scalars/scalars, one request per tag "
                        f"({points:,} points each)", base=tb,
                        note=f"both return up to {SAME_WORK_POINTS} points per tag of the same run; {how}"))
    chart_s, shell_s, inner_s = first_chart(logdir, tries=1 if quick else 3)
    where = f"{size}, default retention"
    rows += [
        row(f"time to first Green chart in Chromium, {where}", chart_s, "s", target="<= 1.5 s",
            met=chart_s.median <= 1.5, note="navigation to #green until the first ECharts 'finished' event; "
            "fresh browser contexts"),
        row(f"TensorBoard page load event in Chromium (context for the row above), {where}", shell_s, "s",
            note="navigation to the load event of TensorBoard's own page, same navigations"),
        row(f"time to first Green chart from the tab's iframe start, {where}", inner_s, "s", target="<= 1.5 s",
            met=inner_s.median <= 1.5, note="iframe performance.now() at the first chart: the Green tab's own share"),
    ]
    return rows


def main() -> int:
    return standalone("plugin", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
