"""The new panels in headless Chromium against a real TensorBoard: the efficiency cards and column and the
"same run elsewhere" chart show the numbers `greenops-tb summary --json` / `whatif --json` print; no console error."""
from __future__ import annotations

import json
import math

import pytest
from cli_runs import cli
from decision_runs import counted_run
from plugin_fixtures import TensorBoardProcess
from test_dashboard_browser import (
    ARTIFACTS, assert_quantity, axis_names, chromium, clipped_labels, green_frame, open_green, wait_ready,
)

WHATIF_TOP = 15  # what the tab asks for (frontend/src/sections/decisions.ts)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    logdir = tmp_path_factory.mktemp("decisions") / "logs"
    counted_run(logdir / "counted", steps=12)
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b'"counted"' in b)
        yield tb, logdir
    finally:
        tb.stop()


JOULES = {"MJ": 1e6, "kJ": 1e3, "J": 1.0, "mJ": 1e-3, "µJ": 1e-6}


def assert_joules(text: str, want: float) -> None:
    """``'3.023 mJ'`` equals ``want`` J to the last digit shown."""
    number, unit = text.split()
    decimals = len(number.partition(".")[2])
    assert abs(float(number) * JOULES[unit] - want) <= 0.5 * 10.0 ** -decimals * JOULES[unit] * (1 + 1e-9), (text, want)


def _places(frame) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    cells = frame.locator("[data-testid=whatif] [data-place]")
    return [(cells.nth(i).get_attribute("data-place"), float(cells.nth(i).get_attribute("data-value")))
            for i in range(cells.count())]


def _same_places(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """The same places in the same order, with the same CO2e (to float precision)."""
    assert [k for k, _ in got] == [k for k, _ in want]
    assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-12)


def _ranked(w: dict) -> list[tuple[str, float]]:
    """The CLI's ranking with this run put in its place, as the tab lists it."""
    rows = [(p["key"], p["co2_kg"]) for p in w["cleanest"]]
    at = next((i for i, (_, c) in enumerate(rows) if c > w["this_run"]["co2_kg"]), len(rows))
    return rows[:at] + [(w["this_run"]["key"], w["this_run"]["co2_kg"])] + rows[at:]


def test_efficiency_and_whatif_panels_show_the_cli_numbers(served, capsys) -> None:  # type: ignore[no-untyped-def]
    tb, logdir = served
    code, out, err = cli(capsys, "summary", str(logdir), "--json")
    assert code == 0, err
    summary = json.loads(out)[0]
    eff = summary["efficiency"]
    whatifs = {}
    for scope in ("choices", "world"):
        code, out, err = cli(capsys, "whatif", str(logdir / "counted"), "--top", str(WHATIF_TOP), "--json",
                             "--scope", scope)
        assert code == 0, err
        whatifs[scope] = json.loads(out)
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page, frame = open_green(browser, tb.url, errors, viewport={"width": 1400, "height": 2400})
        wait_ready(frame, "counted")
        # efficiency cards: the CLI's numbers (raw) and as shown
        for metric in ("j_per_unit", "g_per_unit", "units_per_kwh"):
            el = frame.locator(f"[data-testid=efficiency] [data-metric={metric}]")
            assert math.isclose(float(el.get_attribute("data-value")), eff[metric], rel_tol=1e-12), metric
        assert_joules(frame.locator("[data-metric=j_per_unit] .value").inner_text(), eff["j_per_unit"])
        assert_quantity(frame.locator("[data-metric=g_per_unit] .value").inner_text().removesuffix(" CO2e"),
                        eff["g_per_unit"] / 1000)
        assert "per sample (train)" in frame.locator("[data-testid=efficiency]").inner_text()
        # the ranges under the cards
        r = frame.locator("[data-range=co2_kg]")
        want = summary["ranges"]["totals"]["co2_kg"]
        assert (float(r.get_attribute("data-low")), float(r.get_attribute("data-high"))) == \
            pytest.approx((want["low"], want["high"]), rel=1e-12)
        # per-stage efficiency column
        cell = frame.locator("[data-efficiency=train]").inner_text()
        assert cell.endswith("/ sample") and "CO2e" in cell
        frame.wait_for_selector("[data-chart=efficiency][data-rendered='1']")
        # energy per sample: its axis in the card's unit per sample
        assert axis_names(frame, "efficiency")[1] == \
            frame.locator("[data-metric=j_per_unit] .value").inner_text().split()[-1] + " / sample"
        # the same run elsewhere starts from the places a user can choose; every bar's number is the CLI's
        frame.wait_for_selector("[data-chart=whatif][data-rendered='1']")
        section = frame.locator("[data-testid=whatif]")
        assert section.get_attribute("data-scope") == "choices"
        _same_places(_places(frame), _ranked(whatifs["choices"]))
        assert f"rank {whatifs['choices']['rank']} of" in section.inner_text()
        assert "places you can choose" in section.inner_text()
        # the world ranking is one click away
        frame.locator("[data-testid=whatif-world]").click()
        frame.wait_for_selector("[data-testid=whatif][data-scope=world] [data-testid=whatif-world][aria-pressed=true]")
        _same_places(_places(frame), _ranked(whatifs["world"]))
        assert f"rank {whatifs['world']['rank']} of" in frame.locator("[data-testid=whatif]").inner_text()
        frame.wait_for_selector("[data-chart=whatif][data-rendered='1']")
        assert not any(clipped_labels(frame).values()), clipped_labels(frame)
        page.screenshot(path=str(ARTIFACTS / "green-tab-decisions.png"), full_page=True)
        assert not errors, "console errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_first_chart_is_on_the_first_screen(served, theme: str) -> None:  # type: ignore[no-untyped-def]
    """At 1440x900, TensorBoard's header included, the main chart is on the first screen (all of it), for a single
    run with every card (totals and efficiency) above it, in both themes."""
    tb, _logdir = served
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme=theme)
        page.goto(tb.url + "/#green")
        frame = green_frame(page)
        wait_ready(frame, "counted")
        frame.wait_for_selector(f"html[data-theme={theme}]")
        assert frame.locator("[data-testid=efficiency] [data-metric=j_per_unit]").is_visible()
        box = frame.locator("[data-chart=series]").bounding_box()  # in the page's pixels, the iframe's offset in
        cards = frame.locator("[data-testid=headline]").bounding_box()
        assert box is not None and cards is not None
        assert cards["y"] < box["y"] < 900, (theme, box)
        assert box["y"] + box["height"] <= 900, (theme, box)  # and all of it, not just its top
        print(f"{theme}: first chart top {box['y']:.0f} px, bottom {box['y'] + box['height']:.0f} px of 900")
