"""A real ``tensorboard`` process per load_fast mode (Rust data server and Python ingester):
the Green tab is enabled and its routes return the run's totals as GreenSummaryWriter wrote them."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from plugin_fixtures import TensorBoardProcess, write_run


def _has_run(body: bytes) -> bool:
    return any(r["run"] == "live" for r in json.loads(body)["runs"])


@pytest.mark.parametrize("load_fast", [True, False], ids=["load_fast=true", "load_fast=false"])
def test_real_tensorboard_serves_green_totals(tmp_path: Path, load_fast: bool) -> None:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    want = write_run(logdir, "live")
    tb = TensorBoardProcess(logdir, load_fast=load_fast)
    try:
        tb.wait_for("/data/plugin/green/runs", _has_run)
        listing = json.loads(tb.wait_for("/data/plugins_listing", lambda b: json.loads(b).get("green", {}).get("enabled")))
        assert listing["green"]["tab_name"] == "Green"
        # the summary follows the latest records; wait until TensorBoard has loaded the run's last one
        summary = json.loads(tb.wait_for(
            "/data/plugin/green/summary?run=live",
            lambda b: json.loads(b).get("records_emitted") == want.total.records,
        ))
        t = summary["totals"]
        for key in ("energy_kwh", "co2_kg", "cost", "duration_s", "facility_energy_kwh"):
            assert math.isclose(t[key], getattr(want.total, key), rel_tol=1e-9), key
        stages = {s["stage"]: s for s in summary["stages"]}
        for name, st in want.stages.items():
            assert math.isclose(stages[name]["energy_kwh"], st.energy_kwh, rel_tol=1e-9), name
        assert summary["location"]["zone"] == "DE"
        # series and watched values come through the provider's scalars
        status, body = tb.get("/data/plugin/green/series?run=live&points=50")
        assert status == 200
        energy = json.loads(body)["stages"]["train"]["energy_kwh"]["value"]
        assert math.isclose(energy[-1], want.stages["train"].energy_kwh, rel_tol=1e-6)
        assert tb.get("/data/plugin/green/summary?run=missing")[0] == 404
        assert tb.get("/data/plugin/green/series?run=live&points=-3")[0] == 400
        # the iframe entry page imports our module from 'self' (the browser test runs it under the CSP)
        status, html = tb.get("/data/plugin_entry.html?name=green")
        assert status == 200 and b'import("./static/index.js")' in html
        status, js = tb.get("/data/plugin/green/static/index.js")
        assert status == 200 and b"render" in js, "frontend bundle missing: npm --prefix frontend run build"
    finally:
        tb.stop()
