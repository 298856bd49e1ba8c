"""The Green tab with a run written as the README shows it, and with a run that starts after the tab opened
(issue 13 items 3 and 4): real TensorBoard, real Chromium, real training."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import torch
from torch import nn

from plugin_fixtures import TensorBoardProcess
from test_dashboard_browser import chromium, green_frame

from greenops_tb import GreenSummaryWriter

#: every line's x values of every drawn line chart, read from ECharts' own option (the `echarts` property the
#: app puts on each chart element)
LINE_XS = """() => [...document.querySelectorAll('[data-chart]')].filter((el) => el.echarts).flatMap((el) =>
  el.echarts.getOption().series.filter((s) => s.type === 'line').map((s) =>
    ({ chart: el.dataset.chart, name: s.name, xs: s.data.map((p) => p[0]) })))"""


def _readme_run(log_dir: Path) -> list[int]:
    """The README's loop: no ``step=`` anywhere, ``train`` and ``eval`` stages, the user's own ``add_scalar``
    with ``global_step``, a watched loss and a watched model; returns the user's val_acc steps."""
    torch.manual_seed(0)
    model = nn.Linear(8, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    last_loss = [float("nan")]
    val_steps = []
    with GreenSummaryWriter(str(log_dir), country="DE") as writer:
        writer.watch("loss", last_loss)
        writer.watch_model(model, "train")
        global_step = 0
        for _ in range(3):
            with writer.stage("train"):
                for _ in range(12):
                    loss = model(torch.randn(4, 8)).square().mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    last_loss[0] = loss.item()
                    writer.add_scalar("train/loss", last_loss[0], global_step)
                    global_step += 1
                    writer.update("train")
            with writer.stage("eval"):
                with torch.no_grad():
                    acc = float(model(torch.randn(16, 8)).argmax(1).float().mean())
            writer.add_scalar("val_acc", acc, global_step)
            val_steps.append(global_step)
    return val_steps


def test_readme_run_charts_never_go_backwards(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    val_steps = _readme_run(logdir / "readme")
    tb = TensorBoardProcess(logdir, load_fast=True)
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b'"readme"' in b)
        # the records sit on the user's step axis: eval at the train step before each val_acc, not at 0, 1, 2
        series = json.loads(tb.wait_for("/data/plugin/green/series?run=readme", lambda b: b'"eval"' in b))
        eval_steps = series["stages"]["eval"]["energy_kwh"]["step"]
        assert eval_steps == [s - 1 for s in val_steps]  # the highest user step when each eval ended
        train_steps = series["stages"]["train"]["energy_kwh"]["step"]
        # every user step once (TensorBoard keeps one point per tag and step), aligned with the user's steps: each
        # stop() one step after the last update(), where the next epoch's first update() replaces it
        assert train_steps == list(range(val_steps[-1] + 1))
        # watched values only under their stages: the model's train.* totals are not logged under eval
        tags = json.loads(tb.wait_for("/data/plugin/scalars/tags", lambda b: b"watch/" in b))["readme"]
        assert "watch/train/train.backward_kwh" in tags and "watch/train/loss" in tags and "watch/eval/loss" in tags
        assert not [t for t in tags if t.startswith("watch/eval/train.")], sorted(tags)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(tb.url + "/#green")
            frame = green_frame(page)
            frame.wait_for_selector("body[data-state=ready]", timeout=60_000)
            frame.wait_for_selector("[data-chart='watch:loss'][data-rendered='1']", timeout=30_000)
            lines = frame.evaluate(LINE_XS)
    finally:
        tb.stop()
    charts = {line["chart"] for line in lines}
    assert {"series", "watch:loss", "watch:train.backward_kwh"} <= charts, charts
    for line in lines:
        xs = line["xs"]
        assert xs and all(a <= b for a, b in zip(xs, xs[1:])), (line["chart"], line["name"], xs)
    # a watched value is drawn per stage: loss has a train and an eval line, train.* only a train line
    assert sorted(ln["name"] for ln in lines if ln["chart"] == "watch:loss") == ["eval", "train"]
    assert [ln["name"] for ln in lines if ln["chart"] == "watch:train.backward_kwh"] == ["train"]


LIVE_TRAINING = textwrap.dedent("""
    import sys, time
    from greenops_tb import GreenSummaryWriter
    with GreenSummaryWriter(sys.argv[1], country="FR") as w:
        with w.stage("train"):
            for i in range(10):
                time.sleep(0.05)
                w.update("train")
        open(sys.argv[2], "w").close()  # the test saw the train stage: now an eval stage appears later
        time.sleep(4)
        with w.stage("eval"):
            time.sleep(0.1)
        time.sleep(30)  # still running while the tab picks the eval stage up
""")


def test_tab_opened_before_training_follows_the_new_run(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    tb = TensorBoardProcess(logdir, load_fast=True)
    errors: list[str] = []
    trainer = None
    try:
        tb.wait_for("/data/plugin/green/runs", lambda b: b.strip() != b"")
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(tb.url + "/#green")
            frame = green_frame(page)
            frame.wait_for_selector("body[data-state=empty]", timeout=30_000)
            marker = tmp_path / "train-done"
            trainer = subprocess.Popen([sys.executable, "-c", LIVE_TRAINING, str(logdir / "live"), str(marker)])
            # no click from here on: the run appears, selected, with its cards
            frame.wait_for_selector("[data-testid=headline] [data-metric=energy_kwh]", timeout=90_000)
            assert frame.locator("input[data-run='live']").is_checked()
            assert "train" in frame.locator("[data-testid=stages]").inner_text()
            # and the stage that starts later shows up by itself
            frame.wait_for_function(
                "() => document.querySelector('[data-testid=stages]')?.innerText.includes('eval')", timeout=90_000)
            assert marker.exists()
    finally:
        if trainer is not None:
            trainer.kill()
            trainer.wait()
        tb.stop()
    assert not errors, errors
