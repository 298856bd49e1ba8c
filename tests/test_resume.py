"""A resumed run is one run: re-opening a log dir continues seq, steps, epochs and running totals.

Real writers, real event files, the real CSV; readers are the CLI over TensorBoard's Rust data
server and Python ingester, ``read_csv``, and the Green tab's route. A known constant power makes
every total computable by hand: the CSV's rows are the ground truth.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cli_runs import cli
from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.readers.csv import read_records

WATTS = 120.0


def _open(run: Path, **kw) -> GreenSummaryWriter:
    return GreenSummaryWriter(str(run), country="DE", meters=[ConstantPowerSource({"cpu:0": WATTS})], **kw)


def _opening(run: Path, updates: int, **kw) -> None:
    with _open(run, **kw) as w:
        w.start("train")
        for _ in range(updates):
            w.update("train")
        w.stop("train")
        w.start("eval")
        w.stop("eval")


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """logs/run_r: one opening of 100 updates, then one of 10 (each: train stage, then one eval interval)."""
    run = tmp_path_factory.mktemp("resume") / "logs" / "run_r"
    _opening(run, 100)
    _opening(run, 10)
    return run


def test_seq_steps_epochs_and_totals_continue(resumed):
    recs = read_records(resumed / "green.csv")
    train = [r for r in recs if r.stage == "train"]
    evals = [r for r in recs if r.stage == "eval"]
    assert len(recs) == 101 + 1 + 11 + 1
    assert [r.seq for r in recs] == list(range(len(recs)))
    assert [r.step for r in train] == list(range(112)), "the second opening's steps continue the first's"
    assert [r.epoch for r in train] == [0] * 101 + [1] * 11
    assert [r.step for r in evals] == [0, 1] and [r.epoch for r in evals] == [0, 1]
    assert [r.resume for r in recs] == [0] * 102 + [1] * 12
    total = sum(r.energy_kwh for r in recs)
    assert math.isclose(recs[-1].run_energy_kwh, total, rel_tol=1e-9)
    assert math.isclose(train[-1].stage_energy_kwh, sum(r.energy_kwh for r in train), rel_tol=1e-9)
    assert math.isclose(recs[-1].run_duration_s, sum(r.duration_s for r in recs), rel_tol=1e-9)
    assert math.isclose(total * 3.6e6, WATTS * sum(r.duration_s for r in recs), rel_tol=1e-6)


@pytest.mark.parametrize("loader", ["server", "python"])
def test_summary_reports_the_whole_run_with_both_loaders(resumed, capsys, loader):
    recs = read_records(resumed / "green.csv")
    code, out, err = cli(capsys, "summary", str(resumed.parent), "--json", "--loader", loader)
    assert code == 0, err
    (s,) = json.loads(out)
    assert s["records_kept"] == len(recs), "every opening's records are kept (no orphan purge)"
    assert math.isclose(s["totals"]["energy_kwh"], sum(r.energy_kwh for r in recs), rel_tol=1e-9)
    openings = s["metadata"]["openings"]
    assert [o["resume"] for o in openings] == [0, 1]
    assert all(o["location"] == "DE" and o["devices"] == {"cpu:0": "constant"} for o in openings)


def test_export_and_read_csv_keep_every_opening(resumed, capsys, tmp_path):
    from greenops_tb import read_csv

    recs = read_records(resumed / "green.csv")
    code, _, err = cli(capsys, "export", str(resumed.parent), "-o", str(tmp_path / "all.jsonl"))
    assert code == 0, err
    exported = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in exported] == [r.seq for r in recs]
    assert [e["resume"] for e in exported] == [r.resume for r in recs]
    df = read_csv(resumed / "green.csv")
    assert list(df["resume"]) == [0] * 102 + [1] * 12


def test_green_tab_totals_cover_both_openings(resumed):
    from test_plugin_routes import client, get

    recs = read_records(resumed / "green.csv")
    s = get(client(resumed.parent), "/summary?run=run_r")
    assert s["records_kept"] == len(recs) and s["complete"] is True
    assert math.isclose(s["totals"]["energy_kwh"], sum(r.energy_kwh for r in recs), rel_tol=1e-9)


def test_explicit_step_and_epoch_win_over_the_resumed_ones(tmp_path):
    run = tmp_path / "run_s"
    _opening(run, 5)
    with _open(run) as w:
        w.start("train", step=1000, epoch=7)
        rec = w.update("train")
    assert (rec.step, rec.epoch, rec.resume) == (1000, 7, 1)


def test_writer_totals_continue(tmp_path):
    run = tmp_path / "run_t"
    _opening(run, 20)
    with _open(run) as w:
        w.start("train")
        w.update("train")
    totals = w.totals()  # after close: every record of this opening is in
    recs = read_records(run / "green.csv")
    train = [r for r in recs if r.stage == "train"]
    assert totals.stages["train"].records == len(train)
    assert math.isclose(totals.total.energy_kwh, sum(r.energy_kwh for r in recs), rel_tol=1e-9)
