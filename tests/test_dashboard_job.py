"""The Green tab in headless Chromium against a real TensorBoard (its default loader) serving a distributed job of
rank shards: one run in the run list, the job's energy the exact sum of the ranks', each rank and host listed."""
from __future__ import annotations

import json
import math

import pytest

from plugin_fixtures import TensorBoardProcess, write_job
from test_dashboard_browser import assert_quantity, card, chromium, green_frame

RANKS = 3


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    logdir = tmp_path_factory.mktemp("browser-job") / "logs"
    logdir.mkdir()
    totals = write_job(logdir, "job", ranks=RANKS)
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/summary?run=job",
                    lambda b: len(json.loads(b).get("job", {}).get("ranks", [])) == RANKS)
        yield tb, totals
    finally:
        tb.stop()


def test_job_of_rank_shards_in_the_green_tab(served) -> None:  # type: ignore[no-untyped-def]
    tb, totals = served
    _, runs = tb.get("/data/plugin/green/runs")
    assert [r["run"] for r in json.loads(runs)["runs"]] == ["job"], "one run in TensorBoard, not one per rank"
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.goto(tb.url + "/#green")
        frame = green_frame(page)
        frame.wait_for_selector("[data-testid=job] tbody tr", timeout=30_000)
        raw, _ = card(frame, "energy_kwh")
        assert raw == math.fsum(t.total.energy_kwh for t in totals), "the job's energy: the ranks' exact sum"
        ranks, hosts = frame.locator("[data-testid=job] table").all()
        rows = ranks.locator("tbody tr").all()
        assert len(rows) == RANKS
        for rank, (row, want) in enumerate(zip(rows, totals)):
            cells = row.locator("td").all_inner_texts()
            assert cells[0] == str(rank)
            assert_quantity(cells[2], want.total.energy_kwh)
        (host,) = hosts.locator("tbody tr").all()
        assert host.locator("td").all_inner_texts()[1] == ", ".join(map(str, range(RANKS)))
    assert errors == []
