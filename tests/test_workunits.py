"""Work units: counts and running totals through the CSV and the events, derived per-unit figures, CLI and API."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import cli
from decision_runs import BATCH, TOKENS_PER_SAMPLE, constant_run, counted_run, csv_rows

from greenops_tb import GreenSummaryWriter
from greenops_tb.display import format_share
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.readers.csv import read_records
from greenops_tb.readers.runs import load_run


def _train_rows(path: Path) -> list[dict[str, str]]:
    return [r for r in csv_rows(path) if r["stage"] == "train"]


def test_counts_and_running_totals_through_csv_and_events_exactly(tmp_path: Path, capsys) -> None:
    path = counted_run(tmp_path / "run", steps=12)
    train = _train_rows(path)
    assert [int(r["samples"]) for r in train] == [BATCH] * 12 + [0]  # the closing stop() counted nothing
    assert [int(r["stage_samples"]) for r in train] == [BATCH * min(i + 1, 12) for i in range(13)]
    assert [int(r["tokens"]) for r in train][:12] == [BATCH * TOKENS_PER_SAMPLE] * 12
    evals = [r for r in csv_rows(path) if r["stage"] == "eval"]
    assert [int(r["stage_samples"]) for r in evals] == [BATCH, 2 * BATCH, 3 * BATCH]  # via writer.count
    # the events carry the same records (the plugin's reader over TensorBoard's loader)
    events = [r for r in load_run(str(path.parent), "python").records if r.stage == "train"]
    assert [(r.samples, r.stage_samples, r.tokens, r.stage_tokens) for r in events] == \
        [(int(r["samples"]), int(r["stage_samples"]), int(r["tokens"]), int(r["stage_tokens"])) for r in train]
    # derived, by hand from the CSV's last train row
    last = train[-1]
    energy, co2, n = float(last["stage_energy_kwh"]), float(last["stage_co2_kg"]), int(last["stage_samples"])
    tokens = int(last["stage_tokens"])
    code, out, err = cli(capsys, "summary", str(path.parent), "--json", "--loader", "python")
    assert code == 0, err
    stage = next(s for s in json.loads(out)[0]["stages"] if s["stage"] == "train")
    assert stage["samples"] == n == 12 * BATCH and stage["tokens"] == tokens
    sample, token = stage["efficiency"]["sample"], stage["efficiency"]["token"]
    assert sample["j_per_unit"] == energy * 3.6e6 / n
    assert sample["g_per_unit"] == co2 * 1000 / n
    assert sample["units_per_kwh"] == n / energy
    assert sample["g_per_1k"] == co2 * 1000 / n * 1000
    assert token["j_per_unit"] == energy * 3.6e6 / tokens
    # the scalars: running J per sample at every record, float32 in the Scalars tab
    from tensorboard.context import RequestContext

    from greenops_tb.readers.events import local_provider, read_scalar_series

    scalars = read_scalar_series(local_provider(str(path.parent)), RequestContext(), "", ".", 1000)
    got = [p.value for p in scalars["green/train/j_per_sample"]]
    want = [float(r["stage_energy_kwh"]) * 3.6e6 / int(r["stage_samples"]) for r in train]
    assert got == pytest.approx(want, rel=1e-6)
    assert "green/train/g_per_token" in scalars
    code, text, _ = cli(capsys, "summary", str(path.parent), "--loader", "python")
    assert "efficiency: train " in text and " per sample (" in text and " per token (" in text


def test_writer_efficiency_and_per_step_without_counts(tmp_path: Path, capsys) -> None:
    meters = [ConstantPowerSource({"cpu:0": 30.0})]
    with GreenSummaryWriter(str(tmp_path / "w"), country="FR", meters=meters) as w:
        w.start("train")
        for _ in range(3):
            w.count("train", samples=10)
            w.count("train", samples=6)
            w.update("train", tokens=100)
        eff = w.efficiency()
        totals = w.totals().stages["train"]
    assert eff["train"]["sample"].count == 48 and eff["train"]["token"].count == 300
    assert eff["train"]["sample"].j_per_unit == totals.energy_kwh * 3.6e6 / 48
    assert eff["train"]["token"].g_per_unit == totals.co2_kg * 1000 / 300
    from greenops_tb.analysis.frames import efficiency_frame, read_csv

    df = efficiency_frame(eff)
    assert list(df["unit"]) == ["sample", "token"] and df.loc[0, "j_per_unit"] == eff["train"]["sample"].j_per_unit
    frame = read_csv(tmp_path / "w" / "green.csv")
    assert str(frame["stage_samples"].dtype) == "int64" and list(frame["stage_samples"]) == [16, 32, 48, 48]
    # no counts at all: per step (per recorded interval), from the summary
    path = constant_run(tmp_path / "plain", steps=6)
    code, out, err = cli(capsys, "summary", str(path.parent), "--json", "--loader", "python")
    assert code == 0, err
    stage = next(s for s in json.loads(out)[0]["stages"] if s["stage"] == "train")
    rows = _train_rows(path)
    assert set(stage["efficiency"]) == {"step"} and stage["efficiency"]["step"]["count"] == len(rows)
    assert stage["efficiency"]["step"]["j_per_unit"] == float(rows[-1]["stage_energy_kwh"]) * 3.6e6 / len(rows)


def test_compare_says_how_much_less_energy_per_sample(tmp_path: Path, capsys) -> None:
    runs = []
    for name, watts in (("a", 40.0), ("b", 25.0)):
        with GreenSummaryWriter(str(tmp_path / name), country="DE", meters=[ConstantPowerSource({"cpu:0": watts})]) as w:
            w.start("train")
            for _ in range(4):
                sum(i * i for i in range(20000))
                w.update("train", samples=64)
            w.stop("train")
            runs.append(Path(w.csv_path))
    per = [float(_train_rows(p)[-1]["stage_energy_kwh"]) * 3.6e6 / int(_train_rows(p)[-1]["stage_samples"]) for p in runs]
    change = per[1] / per[0] - 1
    code, out, err = cli(capsys, "compare", str(runs[0]), str(runs[1]), "--json")
    assert code == 0, err
    res = json.loads(out)
    row = next(r for r in res["rows"] if r["metric"] == "J_per_sample")
    assert row["values"] == pytest.approx(per, rel=1e-12)
    word = "less" if change < 0 else "more"
    assert res["efficiency"] == [f"{runs[1]}: {format_share(abs(change))} {word} energy per sample than {runs[0]}"]


def test_bad_counts_are_clear_errors_and_lose_nothing(tmp_path: Path) -> None:
    with GreenSummaryWriter(str(tmp_path / "w"), country="DE", meters=[ConstantPowerSource({"cpu:0": 10.0})]) as w:
        w.start("train")
        w.update("train", samples=8)
        for bad in (-1, 1.5, True, "8"):
            with pytest.raises(ValueError, match="whole number >= 0"):
                w.update("train", samples=bad)
        with pytest.raises(RuntimeError, match="open stages: 'train'"):
            w.count("eval", samples=1)
        w.update("train", samples=8)
        path = Path(w.csv_path)
    assert [r.stage_samples for r in read_records(path) if r.stage == "train"] == [8, 16, 16]
