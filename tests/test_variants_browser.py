"""The Variants panel in headless Chromium against a real TensorBoard: shown only when the selected runs are one
inference bench's variants, with the numbers `greenops-tb inference --json` prints, the variant whose outputs differ
flagged, the variants not built listed, and the projection following the volume the user types."""
from __future__ import annotations

import json
import math

import pytest
import torch
from cli_runs import cli_process
from conftest import constant_writer
from plugin_fixtures import TensorBoardProcess
from test_dashboard_browser import ARTIFACTS, chromium, open_green
from torch import nn

from greenops_tb import ConstantPowerSource, InferenceBench


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    logdir = tmp_path_factory.mktemp("variants") / "logs"
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4)).eval()
    bench = InferenceBench(logdir / "bench", country="FR", meters=lambda: [ConstantPowerSource({"cpu:0": 30.0})])
    bench.add_standard(mlp, torch.randn(1, 32), skip=("inference_mode", "torchscript", "compile", "autocast_bf16"))

    def shifted(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return mlp(x) + 1.0

    bench.add("shifted", shifted, torch.randn(1, 32))
    bench.run(requests=50, rounds=3, warmup=1)
    with constant_writer(logdir / "other") as w, w.stage("train"):
        pass
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b.count(b'"run"') == 3)
        yield tb, logdir
    finally:
        tb.stop()


def _rows(frame, attr: str) -> list[float]:  # type: ignore[no-untyped-def]
    cells = frame.locator(f"[data-testid=variants] [{attr}]")
    return [float(cells.nth(i).get_attribute(attr)) for i in range(cells.count())]


def test_variants_panel_shows_the_bench_and_projects_the_typed_volume(served) -> None:  # type: ignore[no-untyped-def]
    tb, logdir = served
    cli = {}
    for n in ("1000000", "2500000"):
        out = cli_process("inference", str(logdir / "bench"), "--requests-per-day", n, "--json")
        assert out.returncode == 0, out.stderr
        cli[n] = json.loads(out.stdout)
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page, frame = open_green(browser, tb.url, errors, viewport={"width": 1400, "height": 2400})
        frame.wait_for_selector("body[data-state=ready]", timeout=30_000)
        # the bench's two runs and "other" are selected: not one bench, no panel
        page.wait_for_timeout(1500)
        assert frame.locator("[data-testid=variants]").count() == 0
        frame.locator("input[data-run='other']").uncheck()
        frame.wait_for_selector("[data-chart=variants-bars][data-rendered='1']", timeout=30_000)
        want = cli["1000000"]["variants"]
        names = frame.locator("[data-testid=variants] [data-variant]")
        assert [names.nth(i).get_attribute("data-variant") for i in range(names.count())] == ["eager", "shifted"]
        for got, row in zip(_rows(frame, "data-j"), want):
            assert math.isclose(got, row["j_per_request"], rel_tol=1e-12)
        for got, row in zip(_rows(frame, "data-kwh-year"), want):
            assert math.isclose(got, row["kwh_per_year"], rel_tol=1e-12)
        assert frame.locator("[data-outputs=differ]").count() == 1
        assert frame.locator("[data-recommended]").get_attribute("data-recommended") == "eager"
        not_built = frame.locator("[data-testid=not-built]").inner_text()
        assert "channels_last" in not_built and "autocast_fp16" in not_built and "left out (skip=)" in not_built
        # type a volume: the projection follows, as the CLI computes it at that volume
        frame.locator("[data-testid=variants-volume]").fill("2500000")
        frame.wait_for_function("() => document.querySelector('[data-testid=variants] h3:nth-of-type(2)')"
                                "?.textContent.includes('2,500,000')", timeout=15_000)
        for got, row in zip(_rows(frame, "data-kwh-year"), cli["2500000"]["variants"]):
            assert math.isclose(got, row["kwh_per_year"], rel_tol=1e-12)
        for got, row in zip(_rows(frame, "data-hours"), cli["2500000"]["variants"]):
            assert math.isclose(got, row["compute_hours_per_day"], rel_tol=1e-12)
        page.screenshot(path=str(ARTIFACTS / "variants.png"), full_page=True)
    assert errors == [], errors
