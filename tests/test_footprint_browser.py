"""The Green tab's embodied and water cards in headless Chromium show the CLI's numbers, without console errors.

The run is a real training loop on the stand-in NVML H100 in an AWS region (published WUE), so all three
cards have values; a CPU-only run next to it has an unknown embodied figure, shown as such (never 0).
"""
from __future__ import annotations

import json
import sys

import pytest
from cli_runs import cli_process
from fakes.fake_nvml import FakeGpu, make_fake_nvml
from plugin_fixtures import TensorBoardProcess, parse_quantity
from test_dashboard_browser import ARTIFACTS, chromium, open_green
from training import train

LITRES = {"m³": 1e3, "L": 1.0, "mL": 1e-3, "µL": 1e-6, "nL": 1e-9}
KG = {"t": 1e3, "kg": 1.0, "g": 1e-3, "mg": 1e-6, "µg": 1e-9}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    logdir = tmp_path_factory.mktemp("footprint") / "logs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu("GPU-browser", name="NVIDIA H100 80GB HBM3")]))
        train(logdir / "h100", steps=6, eval_every=3, cloud="aws:eu-central-1", sysfs_root=str(logdir / "none"))
    train(logdir / "cpu", steps=4, eval_every=0, country="FR", gpus=[], sysfs_root=str(logdir / "none"))
    r = cli_process("summary", str(logdir), "--json")
    assert r.returncode == 0, r.stderr
    cli = {s["run"]: s["footprint"] for s in json.loads(r.stdout)}
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b.count(b'"run"') == 2)
        yield tb, cli
    finally:
        tb.stop()


def _shown(frame, metric: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    el = frame.locator(f"[data-testid=footprint] [data-metric={metric}]")
    return el.get_attribute("data-value") or "", el.locator(".value").inner_text()


def _same_quantity(text: str, want: float, units: dict[str, float]) -> None:
    """``text`` ('21.33 g CO2e', '45.60 mL') is ``want`` to the last digit shown."""
    value, unit = parse_quantity(text)
    decimals = len(text.split()[0].partition(".")[2])
    assert abs(value * units[unit] - want) <= 0.5 * 10.0 ** -decimals * units[unit] * (1 + 1e-9), (text, want)


def _select_only(frame, run: str, other: str) -> None:  # type: ignore[no-untyped-def]
    frame.locator(f"input[data-run='{other}']").uncheck()
    frame.locator(f"input[data-run='{run}']").check()
    frame.wait_for_function(
        "s => document.querySelector('[data-testid=headline] .scope')?.textContent === s", arg=run, timeout=30_000)
    frame.wait_for_selector(f"[data-footprint-run='{run}']", state="attached", timeout=30_000)


def test_footprint_cards_show_the_cli_numbers(served) -> None:  # type: ignore[no-untyped-def]
    tb, cli = served
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page, frame = open_green(browser, tb.url, errors, viewport={"width": 1400, "height": 1800})
        frame.wait_for_selector("body[data-state=ready]", timeout=30_000)
        _select_only(frame, "h100", "cpu")
        want = cli["h100"]
        for metric, units in (("embodied_kg", KG), ("water_onsite_l", LITRES), ("water_offsite_l", LITRES)):
            raw, text = _shown(frame, metric)
            assert want[metric] is not None and float(raw) == want[metric], (metric, raw, want[metric])
            _same_quantity(text, want[metric], units)
        section = frame.locator("[data-testid=footprint]")
        assert section.get_attribute("open") is not None  # every figure known: open
        breakdown = section.locator("[data-footprint-run=h100]").inner_text()
        assert "table:nvidia h100 sxm" in breakdown and "class-average:host" in breakdown
        assert "aws-fleet-2023" in breakdown and "Macknick" in section.inner_text()
        # the CO2e card is the electricity's alone, as the CLI says
        co2 = frame.locator("[data-testid=headline] [data-metric=co2_kg]").get_attribute("data-value")
        assert float(co2) != float(_shown(frame, "embodied_kg")[0])
        page.screenshot(path=str(ARTIFACTS / "green-tab-footprint.png"), full_page=True)
        _select_only(frame, "cpu", "h100")
        # a CPU run: the embodied and on-site figures are unknown, so the section is collapsed, its cards shown
        assert section.get_attribute("open") is None and not section.locator("[data-footprint-run=cpu]").is_visible()
        raw, text = _shown(frame, "embodied_kg")
        assert (raw, text) == ("", "unknown") and cli["cpu"]["embodied_kg"] is None
        assert cli["cpu"]["water_onsite_l"] is None and _shown(frame, "water_onsite_l")[1] == "unknown"
        raw, text = _shown(frame, "water_offsite_l")
        assert float(raw) == cli["cpu"]["water_offsite_l"]
        _same_quantity(text, cli["cpu"]["water_offsite_l"], LITRES)
        # opened by the user, it stays open when the tab re-renders (a refresh)
        section.locator("summary").click()
        frame.wait_for_selector("details[data-testid=footprint][open]")
        frame.get_by_role("button", name="Refresh").click()
        frame.wait_for_selector("body[data-state=ready]")
        assert section.get_attribute("open") is not None and section.locator("[data-footprint-run=cpu]").is_visible()
        assert not errors, "console errors:\n" + "\n".join(errors)
