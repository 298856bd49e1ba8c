"""``greenops-tb summary`` and ``compare`` on real runs: numbers equal the live CSVs', ratios are value / first."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cli_runs import cli, csv_sums, train_run
from fakes.fake_nvml import FakeGpu, make_fake_nvml, wait_until
from greenops_tb.readers.csv import read_records


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sum")
    train_run(root / "short", steps=10)
    train_run(root / "long", steps=30)
    return root


def _last(path: Path, stage: str):
    return [r for r in read_records(path) if r.stage == stage][-1]


def test_summary_json_equals_the_live_csv_totals(logdir, capsys):
    code, out, err = cli(capsys, "summary", str(logdir), "--json")
    assert code == 0, err
    runs = {s["run"]: s for s in json.loads(out)}
    assert set(runs) == {"short", "long"}
    for name, s in runs.items():
        csv_path = logdir / name / "green.csv"
        records = read_records(csv_path)
        assert s["totals"]["energy_kwh"] == pytest.approx(records[-1].run_energy_kwh, rel=1e-12)
        assert s["totals"]["co2_kg"] == pytest.approx(records[-1].run_co2_kg, rel=1e-12)
        stages = {st["stage"]: st for st in s["stages"]}
        assert set(stages) == {"train", "eval"}
        for stage, st in stages.items():
            last = _last(csv_path, stage)
            assert st["energy_kwh"] == pytest.approx(last.stage_energy_kwh, rel=1e-12)
            assert st["duration_s"] == pytest.approx(last.stage_duration_s, rel=1e-12)
            assert st["cost"] == pytest.approx(last.stage_cost, rel=1e-12)
        assert s["location"]["zone"] == "DE" and s["devices"] and s["mix_shares"]
        assert sum(s["co2_by_source_kg"].values()) == pytest.approx(records[-1].run_co2_kg, rel=1e-9)
        assert s["co2_by_source_kg"]["coal"] / records[-1].run_co2_kg > s["mix_shares"]["coal"]
        assert s["co2_by_source_factors"].startswith("IPCC AR5")


def test_summary_table_shows_stages_mix_provenance_and_forecast(logdir, capsys):
    code, out, err = cli(capsys, "summary", str(logdir), "--runs", "long", "--forecast", "train", "--total-steps", "300")
    assert code == 0, err
    assert out.startswith("run long: location DE")
    lines = out.splitlines()
    assert any(line.startswith("train ") for line in lines) and any(line.startswith("total ") for line in lines)
    assert any(line.startswith("mix: ") for line in lines) and "(modelled)" in out
    split = json.loads(cli(capsys, "summary", str(logdir), "--runs", "long", "--json")[1])[0]["co2_by_source_kg"]
    shares = sorted(((v / sum(split.values()), k) for k, v in split.items()), reverse=True)
    co2_line = next(line for line in lines if line.startswith("CO2e by source: "))
    assert co2_line.startswith(f"CO2e by source: {shares[0][1]} {shares[0][0]:.0%}, {shares[1][1]} {shares[1][0]:.0%}, ")
    assert shares[0][1] == "coal" and "(IPCC AR5 WG3 Annex III lifecycle medians;" in co2_line
    assert "forecast train: 30 of 300 steps done" in out and "energy" in out and "Wh [" in out


def test_summary_forecast_needs_a_total(logdir, capsys):
    code, _, err = cli(capsys, "summary", str(logdir), "--forecast", "train")
    assert code == 2 and "--total-steps" in err


def test_compare_ratios_are_value_over_the_first_run(logdir, capsys):
    short, long_ = logdir / "short", logdir / "long"
    code, out, err = cli(capsys, "compare", str(short), str(long_), "--json")
    assert code == 0, err
    data = json.loads(out)
    rows = {r["metric"]: r for r in data["rows"]}
    a, b = read_records(short / "green.csv")[-1], read_records(long_ / "green.csv")[-1]
    assert rows["energy_kWh"]["values"] == pytest.approx([a.run_energy_kwh, b.run_energy_kwh], rel=1e-12)
    assert rows["energy_kWh"]["ratios"][0] == pytest.approx(b.run_energy_kwh / a.run_energy_kwh, rel=1e-12)
    assert rows["CO2_kg"]["ratios"][0] == pytest.approx(b.run_co2_kg / a.run_co2_kg, rel=1e-12)
    assert "train_energy_kWh" in rows and "eval_energy_kWh" in rows


def test_compare_accepts_a_live_csv_and_prints_a_table(logdir, capsys):
    code, out, err = cli(capsys, "compare", str(logdir / "short"), str(logdir / "long" / "green.csv"))
    assert code == 0, err
    head = out.splitlines()[0]
    assert "long/green.csv /" in head and "short" in head
    energy = next(line for line in out.splitlines() if line.startswith("energy "))
    assert energy.split()[2] in ("mWh", "Wh", "µWh", "kWh")  # SI-scaled, as greenops_tb.display writes it


@pytest.mark.parametrize(
    "args, message",
    [
        (["one"], "at least two runs"),
        (["LOGDIR", "LOGDIR/short"], "holds 2 runs; pass one run directory"),
        (["LOGDIR/short", "LOGDIR/missing"], "no such directory"),
        (["LOGDIR/short", "LOGDIR/short/events"], "pass a run directory or a live CSV"),
        (["LOGDIR/short", "LOGDIR/garbage.csv"], "not a readable green CSV"),
    ],
)
def test_compare_bad_arguments_exit_2(logdir, capsys, args, message):
    events = next((logdir / "short").glob("*tfevents*"))
    (logdir / "garbage.csv").write_text("run,stage\nnot,a green record\n")
    argv = [a.replace("LOGDIR/short/events", str(events)).replace("LOGDIR", str(logdir)) for a in args]
    code, _, err = cli(capsys, "compare", *argv)
    assert code == 2 and message in err


def test_summary_shows_gpu_context_from_nvml(tmp_path, monkeypatch, capsys):
    """A GPU run through the stand-in NVML module: the table and JSON show its utilisation and memory."""
    from greenops_tb import GreenSummaryWriter

    gpu = FakeGpu("GPU-cli-ctx", utilization=87)
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([gpu]))

    def sampled() -> None:  # every interval holds samples, however late a loaded machine runs the sampler
        n = len(gpu.util_log)
        wait_until(lambda: len(gpu.util_log) >= n + 2)

    with GreenSummaryWriter(str(tmp_path / "gpu"), country="DE", sysfs_root=str(tmp_path / "no-powercap")) as w:
        sampled()  # the sampler has values before the stage opens
        w.start("train")
        for step in range(3):
            sampled()
            w.update("train", step=step)
        sampled()
        w.stop("train")
        csv_path = w.csv_path
    code, out, err = cli(capsys, "summary", str(tmp_path))
    assert code == 0, err
    devices = next(line for line in out.splitlines() if line.startswith("devices: "))
    assert "gpu:0 nvml-energy (measured; util 87 %, mem 12.9 GB)" in devices, devices
    assert devices.count("util") == 1 and "cpu:0 model-tdp-default (modelled)," in devices
    code, out, err = cli(capsys, "summary", str(tmp_path), "--json")
    (s,) = json.loads(out)
    ctx = {d["device"]: d["context"] for d in s["devices"]}
    mems = [r.devices["gpu:0"].context["mem_used_gb"] for r in read_records(csv_path)]
    gb = 12 * 2**30 / 1e9
    mem = ctx["gpu:0"]["mem_used_gb"]
    assert set(mems) == {gb} and (mem["max"], mem["last"]) == (gb, gb)
    assert mem["mean"] == pytest.approx(gb, rel=1e-12)  # a duration-weighted mean of equal values
    assert ctx["gpu:0"]["util_pct"]["mean"] == pytest.approx(87.0, abs=0.5) and ctx["cpu:0"] == {}


def test_summary_per_stage_equals_the_sum_of_its_csv_rows(logdir, capsys):
    code, out, err = cli(capsys, "summary", str(logdir), "--json")
    assert code == 0, err
    for s in json.loads(out):
        for st in s["stages"]:
            want = csv_sums(logdir / s["run"] / "green.csv", st["stage"])
            assert st["energy_kwh"] == pytest.approx(want["energy_kwh"], rel=1e-9)
            assert st["co2_kg"] == pytest.approx(want["co2_kg"], rel=1e-9)
            assert st["duration_s"] == pytest.approx(want["duration_s"], rel=1e-9)


def test_summary_total_is_the_known_power_times_the_measured_time(tmp_path, capsys):
    import time

    import torch

    from greenops_tb import ConstantPowerSource, GreenSummaryWriter

    watts = 40.0
    model = torch.nn.Linear(8, 1)
    x = torch.randn(32, 8)
    with GreenSummaryWriter(str(tmp_path / "flat"), country="DE", pue=1.0,
                            meters=[ConstantPowerSource({"cpu:0": watts})]) as w:
        outer0 = time.perf_counter()
        w.start("train")
        inner0 = time.perf_counter()
        for _ in range(20):
            model(x).pow(2).mean().backward()
            w.update("train")
        inner1 = time.perf_counter()
        w.stop("train")
        outer1 = time.perf_counter()
    code, out, err = cli(capsys, "summary", str(tmp_path), "--json")
    assert code == 0, err
    (s,) = json.loads(out)
    joules = s["totals"]["energy_kwh"] * 3.6e6
    # the writer's meter reads happen inside [outer0, outer1] and around [inner0, inner1], whatever the load
    assert watts * (inner1 - inner0) <= joules <= watts * (outer1 - outer0)
    assert s["totals"]["energy_kwh"] == pytest.approx(csv_sums(tmp_path / "flat" / "green.csv")["energy_kwh"],
                                                      rel=1e-9)
