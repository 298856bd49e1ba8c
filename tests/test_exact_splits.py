"""The Green tab's totals and splits are exact with TensorBoard's default retention (issue 13 item 6).

A real run with far more records than TensorBoard keeps (by default ~100 green records per stage), with a
per-device share that changes from interval to interval (a busy CPU, then an idle one, next to a device
of constant power), served by a real ``tensorboard``; the route's numbers must equal the sums of the
run's CSV, read with the csv module, to 1e-9.
"""
from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import pytest

from plugin_fixtures import TensorBoardProcess

from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.meters.model import ModelCpuSource

SOURCES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bioenergy", "other_renewable")


def _busy(seconds: float) -> None:
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        x += 1


def _write(logdir: Path) -> Path:
    meters = [ConstantPowerSource({"gpu:0": 30.0}, label="model-test"), ModelCpuSource()]
    with GreenSummaryWriter(str(logdir / "long"), country="DE", pue=1.3, meters=meters) as w:
        for epoch in range(2):
            with w.stage("train"):
                for i in range(300):  # 600 train records: several times what TensorBoard keeps
                    if (i // 10) % 2:
                        _busy(0.004)  # CPU busy: the CPU's share rises
                    else:
                        time.sleep(0.004)  # CPU idle: the GPU's constant power dominates
                    w.update("train")
            with w.stage("eval"):
                for _ in range(15):
                    time.sleep(0.002)
                    w.update("eval")
        return Path(w.csv_path)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-18)


@pytest.mark.parametrize("load_fast", [True, False])
def test_summary_splits_equal_csv_sums_with_default_retention(tmp_path: Path, load_fast: bool) -> None:
    logdir = tmp_path / "logs"
    rows = _rows(_write(logdir))
    assert len(rows) > 600
    tb = TensorBoardProcess(logdir, load_fast=load_fast)  # no --samples_per_plugin: default retention
    try:
        body = tb.wait_for("/data/plugin/green/summary?run=long",
                           lambda b: json.loads(b).get("records_emitted") == len(rows), timeout=90)
    finally:
        tb.stop()
    s = json.loads(body)
    assert s["records_kept"] < len(rows) / 3  # TensorBoard really dropped most records
    assert s["splits_exact"] is True and s["complete"] is False

    # per device: the sum over every row's devices_json (stages do not overlap, so each joule once)
    want: dict[str, float] = {}
    for r in rows:
        for dev, d in json.loads(r["devices_json"]).items():
            want[dev] = want.get(dev, 0.0) + d["energy_kwh"]
    got = {d["device"]: d["energy_kwh"] for d in s["devices"]}
    assert set(got) == {"gpu:0", "cpu:0"}
    # the two shares differ between intervals, so a split from kept records' shares would not match
    cpu_shares = [json.loads(r["devices_json"])["cpu:0"]["energy_kwh"] / float(r["energy_kwh"]) for r in rows]
    assert max(cpu_shares) - min(cpu_shares) > 0.05
    for dev in got:
        assert _close(got[dev], want[dev]), (dev, got[dev], want[dev])

    # per source, run and each stage: the sums of the mix_kwh_* columns
    run_mix = {src: sum(float(r[f"mix_kwh_{src}"]) for r in rows) for src in SOURCES}
    for src, v in s["mix_kwh"].items():
        assert _close(v, run_mix[src]), (src, v, run_mix[src])
    for st in s["stages"]:
        mine = [r for r in rows if r["stage"] == st["stage"]]
        assert _close(st["energy_kwh"], sum(float(r["energy_kwh"]) for r in mine))
        for src, v in st["mix_kwh"].items():
            assert _close(v, sum(float(r[f"mix_kwh_{src}"]) for r in mine)), (st["stage"], src)
    assert _close(s["totals"]["energy_kwh"], sum(float(r["energy_kwh"]) for r in rows))
    assert _close(s["totals"]["co2_kg"], sum(float(r["co2_kg"]) for r in rows))


def test_running_mix_stays_exact_when_the_grid_shares_change() -> None:
    """A live grid whose mix changes mid-run: the records then carry the running mix itself."""
    from greenops_tb.grid.types import Intensity
    from greenops_tb.meters.base import Meter
    from greenops_tb.format.schema import running_mix
    from greenops_tb.recording.stages import Pricing, Stages
    from greenops_tb.recording.watch import Watches

    windy = Intensity(100.0, {"wind": 0.8, "gas": 0.2}, "live A")
    coaly = Intensity(700.0, {"coal": 0.9, "wind": 0.1}, "live B")
    calls = [0]

    def current() -> Intensity:
        calls[0] += 1
        return windy if (calls[0] // 7) % 2 == 0 else coaly

    recs = []
    stages = Stages(Meter([ConstantPowerSource({"cpu:0": 40.0, "ram": 5.0})]), current,
                    Pricing("r", 1.25, None, "", "unknown", "XX", "argument"), Watches(),
                    lambda text, closing: recs.append(text.rec))
    stages.start("train")
    for i in range(40):
        time.sleep(0.001)
        if i % 10 == 5:
            stages.start("eval")  # overlapping stage: the run counts each joule once
        if i % 10 == 8:
            stages.stop("eval")
        stages.update("train")
    stages.stop("train")
    assert {r.intensity_source for r in recs} == {"live A", "live B"}
    for stage in ("train", "eval"):
        mine = [r for r in recs if r.stage == stage]
        want: dict[str, float] = {}
        for r in mine:
            for src, v in r.mix_kwh.items():
                want[src] = want.get(src, 0.0) + v
        got = running_mix(mine[-1], "stage")
        assert set(got) == set(want) and all(_close(got[s], want[s]) for s in want), (stage, got, want)
    run_mix = running_mix(recs[-1], "run")
    assert _close(sum(run_mix.values()), recs[-1].run_energy_kwh * 1.25)
    assert set(run_mix) == {"wind", "gas", "coal"}
