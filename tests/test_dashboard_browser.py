"""The Green tab in headless Chromium against a real TensorBoard: numbers on screen equal the
run's totals, no console error (CSP included), names render as text, CSV download, screenshot."""
from __future__ import annotations

import contextlib
import csv
import io
import math
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import require
from plugin_fixtures import XSS_RUN, TensorBoardProcess, parse_quantity, write_run

CHROMIUM = os.environ.get("GREENOPS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
UNITS = {"GWh": 1e6, "MWh": 1e3, "kWh": 1.0, "Wh": 1e-3, "mWh": 1e-6, "µWh": 1e-9,
         "t": 1e3, "kg": 1.0, "g": 1e-3, "mg": 1e-6, "µg": 1e-9, "MW": 1e6, "kW": 1e3, "W": 1.0, "mW": 1e-3,
         "km": 1.0, "m": 1e-3, "mm": 1e-6, "µm": 1e-9, "EUR": 1.0, "s": 1.0}
KG_CO2E_PER_KM_CAR = 3.93e-4 * 1000 / 1.609344  # US EPA equivalencies, 2024 revision: 3.93e-4 t CO2e per mile


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (a CI failure when either is missing), closed on the way out."""
    require(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    logdir = tmp_path_factory.mktemp("browser") / "logs"
    logdir.mkdir()
    totals = {"base": write_run(logdir, "base"), XSS_RUN: write_run(logdir, XSS_RUN, steps=8)}
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b.count(b'"run"') == 2)
        yield tb, totals, logdir
    finally:
        tb.stop()


def open_green(browser, url: str, errors: list[str], **page_options):  # type: ignore[no-untyped-def]
    """A new page on TensorBoard's Green tab at ``url``, its console errors and page errors collected in
    ``errors``; (page, the tab's frame)."""
    page = browser.new_page(**page_options)
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.goto(url + "/#green")
    return page, green_frame(page)


def green_frame(page):  # type: ignore[no-untyped-def]
    page.wait_for_selector("iframe", timeout=30_000)
    for _ in range(100):
        for f in page.frames:
            if "plugin_entry.html" in f.url:
                return f
        page.wait_for_timeout(100)
    raise AssertionError(f"no Green tab iframe among {[f.url for f in page.frames]}")


def wait_ready(frame, scope: str) -> None:  # type: ignore[no-untyped-def]
    frame.wait_for_selector("body[data-state=ready]", timeout=30_000)
    frame.wait_for_function(
        "s => document.querySelector('[data-testid=headline] .scope')?.textContent === s", arg=scope, timeout=30_000)
    frame.wait_for_selector("[data-chart=series][data-rendered='1']", timeout=30_000)
    frame.wait_for_selector("[data-chart=mix-bars][data-rendered='1']", timeout=30_000)


#: how many texts a chart drew (axis labels and names, legends, bar labels), and those past its canvas: [text, x, y, w, h]
CLIPPED_TEXT = """el => {
  const zr = el.echarts.getZr(), w = zr.getWidth(), h = zr.getHeight(), out = [];
  let drawn = 0;
  for (const d of zr.storage.getDisplayList(true)) {
    if (d.type !== "tspan" || d.ignore || d.invisible || !d.style.text) continue;
    drawn += 1;
    const r = d.getBoundingRect().clone();
    if (d.transform) r.applyTransform(d.transform);
    const outside = r.x < -0.5 || r.y < -0.5 || r.x + r.width > w + 0.5 || r.y + r.height > h + 0.5;
    if (outside) out.push([d.style.text, r.x, r.y, r.width, r.height]);
  }
  return [drawn, out];
}"""


def clipped_labels(frame) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """Per visible chart (``data-chart``), the texts it drew past its canvas (none when every label fits); a chart
    that drew no text at all is reported too (the check would see nothing)."""
    charts = frame.locator("[data-chart][data-rendered='1']")
    found = {}
    for i in range(charts.count()):
        el = charts.nth(i)
        if el.is_visible():
            drawn, outside = el.evaluate(CLIPPED_TEXT)
            found[el.get_attribute("data-chart")] = outside if drawn else ["no text drawn"]
    return found


def axis_names(frame, chart: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The axis names of a chart as ECharts holds them (x axes first)."""
    return frame.locator(f"[data-chart='{chart}']").evaluate(
        "el => { const o = el.echarts.getOption(); return [...o.xAxis, ...o.yAxis].map(a => a.name ?? ''); }")


def open_details(frame, testid: str) -> None:  # type: ignore[no-untyped-def]
    """Open the collapsible section ``testid`` (a click on its summary, as a user would) if it is closed."""
    details = frame.locator(f"details[data-testid={testid}]")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
        frame.wait_for_selector(f"details[data-testid={testid}][open]")


def card(frame, metric: str) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    el = frame.locator(f"[data-metric={metric}]")
    return float(el.get_attribute("data-value")), el.locator(".value").inner_text()


def assert_quantity(text: str, want: float) -> None:
    """``text`` (``'2.804 mWh'``, ``'1,234.50 EUR'``) equals ``want`` (base unit) to the last digit it shows."""
    value, unit = parse_quantity(text.replace(",", ""))
    decimals = len(text.replace(",", "").split()[0].partition(".")[2])
    half_digit = 0.5 * 10.0 ** -decimals * UNITS[unit]
    assert abs(value * UNITS[unit] - want) <= half_digit * (1 + 1e-9) + abs(want) * 1e-12, (text, want)


def assert_shown(frame, metric: str, want: float) -> None:  # type: ignore[no-untyped-def]
    raw, text = card(frame, metric)
    assert math.isclose(raw, want, rel_tol=1e-9), (metric, raw, want)
    if metric == "cost" and want < 0.01:  # under a cent: "< 0.01 EUR", the exact amount in the tooltip
        assert text == "< 0.01 EUR", (metric, text, want)
        text = frame.locator("[data-metric=cost] .value").get_attribute("title")
    assert_quantity(text, want)


def test_green_tab_in_chromium(served) -> None:  # type: ignore[no-untyped-def]
    tb, totals, logdir = served
    want = totals["base"]
    errors: list[str] = []
    dialogs: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
        page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(tb.url + "/#green")
        frame = green_frame(page)
        wait_ready(frame, "2 runs")
        # the hostile run name is text in the run list, the tables and the headline; no <img> was created
        names = frame.locator(".run-name").all_inner_texts()
        assert XSS_RUN in names
        assert frame.locator("img").count() == 0 and page.locator("img[src=x]").count() == 0
        assert XSS_RUN in frame.locator("[data-testid=stages]").inner_text()
        # select only the base run: the cards show its totals
        frame.locator(f"input[data-run='{XSS_RUN}']").uncheck()
        wait_ready(frame, "base")
        assert_shown(frame, "energy_kwh", want.total.energy_kwh)
        assert_shown(frame, "co2_kg", want.total.co2_kg)
        assert_shown(frame, "cost", want.total.cost)
        assert_shown(frame, "duration_s", want.total.duration_s)
        assert_shown(frame, "avg_power_w", want.total.avg_power_w)
        renewable = sum(want.total.mix_kwh[s] for s in ("hydro", "wind", "solar", "bioenergy", "other_renewable"))
        raw, text = card(frame, "renewable_share")
        assert math.isclose(raw, renewable / sum(want.total.mix_kwh.values()), rel_tol=1e-9)
        assert text == f"{raw * 100:.1f} %"
        stage_text = frame.locator("[data-testid=stages]").inner_text()
        for name in want.stages:
            assert name in stage_text
        open_details(frame, "provenance")
        assert "model-test" in frame.locator("[data-testid=provenance]").inner_text()
        car = frame.locator("[data-equivalent=car_km]")  # the car distance of the run's CO2e, per EPA's factor
        assert math.isclose(float(car.get_attribute("data-value")), want.total.co2_kg / KG_CO2E_PER_KM_CAR, rel_tol=1e-9)
        assert_quantity(car.inner_text(), want.total.co2_kg / KG_CO2E_PER_KM_CAR)
        assert "driving an average gasoline car" in frame.locator("[data-testid=equivalents]").inner_text()
        # one energy unit in the view: the running total's axis is the card's unit; every axis has its unit
        energy_unit = card(frame, "energy_kwh")[1].split()[-1]
        assert axis_names(frame, "series") == ["step", energy_unit]
        assert axis_names(frame, "stage-bars")[0] == energy_unit == axis_names(frame, "mix-bars")[0]
        assert all(unit in UNITS for unit in (energy_unit, axis_names(frame, "whatif")[0].split()[0]))
        assert clipped_labels(frame) and not any(clipped_labels(frame).values()), clipped_labels(frame)
        # no test hook ships: the first chart is a standard User Timing mark, set once
        assert frame.evaluate("typeof window.__green") == "undefined"
        assert frame.evaluate("performance.getEntriesByName('green:first-chart', 'mark').length") == 1
        page.screenshot(path=str(ARTIFACTS / "green-tab.png"), full_page=True)
        # CSV download of what is shown
        with page.expect_download() as dl:
            frame.locator("[data-testid=download-csv]").click()
        rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
        run_row = next(r for r in rows if r["kind"] == "run")
        assert run_row["run"] == "base"
        assert math.isclose(float(run_row["energy_kwh"]), want.total.energy_kwh, rel_tol=1e-9)
        assert {r["stage"] for r in rows if r["kind"] == "stage"} == set(want.stages)
        co2_parts = [float(v) for k, v in run_row.items() if k.startswith("co2_kg_") and v]
        assert math.isclose(sum(co2_parts), want.total.co2_kg, rel_tol=1e-9)
        # the source mix switched to CO2e: the charts re-plot, the note names the factors
        mix = frame.locator("[data-testid=mix]")
        mix.locator("[data-basis=co2]").click()
        frame.wait_for_selector("[data-basis=co2][aria-pressed=true]")
        frame.wait_for_selector("[data-chart=mix-bars][data-rendered='1']")
        frame.wait_for_selector("[data-chart=mix-pie][data-rendered='1']")
        assert "CO₂e emitted" in mix.locator("h2").inner_text() and "IPCC AR5" in mix.inner_text()
        mix.locator("[data-basis=energy]").click()
        frame.wait_for_selector("[data-basis=energy][aria-pressed=true]")
        # dark theme and wall-time axis re-render without errors
        frame.locator("[data-testid=theme]").select_option("dark")
        frame.locator("[data-testid=x-axis] [data-choice=wall_time]").click()
        frame.wait_for_selector("[data-testid=x-axis] [data-choice=wall_time][aria-pressed=true]")
        frame.wait_for_selector("html[data-theme=dark]")
        frame.wait_for_selector("[data-chart=series][data-rendered='1']")
        assert axis_names(frame, "series") == ["time", energy_unit]
        frame.locator("[data-testid=metric] [data-choice=power_w]").click()  # the metric switch
        frame.wait_for_function("() => document.querySelector('[data-testid=series] h2').textContent"
                                ".startsWith('Average power by wall time')")
        frame.wait_for_selector("[data-chart=series][data-rendered='1']")
        assert axis_names(frame, "series") == ["time", card(frame, "avg_power_w")[1].split()[-1]]
        assert not any(clipped_labels(frame).values()), clipped_labels(frame)
        page.screenshot(path=str(ARTIFACTS / "green-tab-dark.png"), full_page=True)
        # filter narrows the run list
        frame.locator("[data-testid=run-filter]").fill("bas")
        assert frame.locator(".run-name").all_inner_texts() == ["base"]
        frame.locator("[data-testid=run-filter]").fill("")
        # a run that appears while the tab is open shows up on refresh (the auto-refresh's code path)
        write_run(logdir, "late", steps=4)
        for _ in range(60):
            frame.get_by_role("button", name="Refresh").click()
            page.wait_for_timeout(500)
            if "late" in frame.locator(".run-name").all_inner_texts():
                break
        assert "late" in frame.locator(".run-name").all_inner_texts()
        assert not dialogs, f"a script ran from data: {dialogs}"
        assert not errors, "console errors (CSP violations included):\n" + "\n".join(errors)
        # the server goes away: an error state, the numbers already shown stay
        tb.stop()
        frame.get_by_role("button", name="Refresh").click()
        frame.wait_for_selector("[data-testid=status].error", timeout=10_000)
        assert "Could not load" in frame.locator("[data-testid=status]").inner_text()
        assert_shown(frame, "energy_kwh", want.total.energy_kwh)


def test_empty_logdir_says_what_to_do(tmp_path: Path) -> None:
    """A logdir with scalars but no green data: the tab explains how to get some, without errors."""
    from torch.utils.tensorboard import SummaryWriter

    logdir = tmp_path / "logs"
    with SummaryWriter(str(logdir / "plain")) as w:
        w.add_scalar("loss", 1.0, 0)
    tb = TensorBoardProcess(logdir, load_fast=True)
    errors: list[str] = []
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b.strip() != b"")
        with chromium() as browser:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(tb.url + "/#green")  # TensorBoard lists the tab as inactive; the URL still opens it
            frame = green_frame(page)
            frame.wait_for_selector("body[data-state=empty]", timeout=30_000)
            status = frame.locator("[data-testid=status]").inner_text()
            assert "No green data yet" in status and "GreenSummaryWriter" in status
            assert frame.locator("[data-testid=headline]").count() == 0
    finally:
        tb.stop()
    assert not errors, errors
