"""Embodied emissions and water through a real training run: records, CSV, events, summary, CLI.

Expectations are computed by hand from the published figures (see tests/test_footprint.py), never from the
code's own tables: H100 164 kg (1312 / 8), host 2500 / 8 kg, busy hours 6 x 8760 x 0.85, AWS WUE 0.18 L/kWh,
Macknick et al. 2012 medians.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from cli_runs import cli
from fakes.fake_nvml import FakeGpu, make_fake_nvml
from tensorboard import context as tb_context
from training import train

from greenops_tb import GreenSummaryWriter
from greenops_tb.analysis.frames import read_csv
from greenops_tb.api import report, run_data, whatif
from greenops_tb.display import format_co2
from greenops_tb.grid import resolve_grid
from greenops_tb.readers.csv import read_records, read_rows
from greenops_tb.readers.events import local_provider, read_runs
from greenops_tb.reports import facts, model_card

BUSY_S = 6 * 8760 * 0.85 * 3600
GPU_KG, HOST_KG = 1312 / 8, 2500 / 8
L_PER_GAL_MWH = 3.785411784 / 1000
GAL = {"coal": 687, "gas": 198, "oil": 826, "nuclear": 672, "hydro": 4491, "wind": 0, "solar": 1,
       "bioenergy": 553, "other_renewable": 270}


@pytest.fixture
def h100_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu("GPU-h100", name="NVIDIA H100 80GB HBM3")]))
    run = train(tmp_path / "h100", steps=6, eval_every=3, cloud="aws:eu-central-1",
                sysfs_root=str(tmp_path / "no-powercap"))
    return tmp_path, run


def test_every_record_carries_embodied_and_water_beside_unchanged_co2(h100_run) -> None:
    _, run = h100_run
    records = read_records(run.csv_path)
    assert len(records) == 8  # 6 train update(step=)s (the final stop extends the last), 2 evals
    for r in records:
        hours_share = r.duration_s / BUSY_S
        assert r.embodied_kg_by_device["gpu:0"] == pytest.approx(hours_share * GPU_KG, rel=1e-9)
        assert r.embodied_kg_by_device["host"] == pytest.approx(hours_share * HOST_KG, rel=1e-9)
        assert r.embodied_kg == pytest.approx(hours_share * (GPU_KG + HOST_KG), rel=1e-9)
        assert r.water_onsite_l == pytest.approx(r.energy_kwh * 0.18, rel=1e-9)  # IT energy x AWS WUE
        offsite = sum(kwh * GAL[s] * L_PER_GAL_MWH for s, kwh in r.mix_kwh.items())
        assert r.water_offsite_l == pytest.approx(offsite, rel=1e-9) and offsite > 0
        # operational CO2e is the electricity's alone: facility energy x intensity, nothing added
        assert r.co2_kg == pytest.approx(r.facility_energy_kwh * r.carbon_intensity_g_per_kwh / 1000, rel=1e-12)
    last = records[-1]
    assert last.run_embodied_kg == pytest.approx(last.run_duration_s / BUSY_S * (GPU_KG + HOST_KG), rel=1e-9)
    assert last.run_co2_kg == pytest.approx(run.totals.total.co2_kg, rel=1e-12)
    total = run.totals.total
    assert total.embodied_kg == pytest.approx(last.run_embodied_kg, rel=1e-12)
    assert total.water_onsite_l == pytest.approx(total.energy_kwh * 0.18, rel=1e-9)
    train_recs = [r for r in records if r.stage == "train"]
    assert train_recs[-1].stage_water_offsite_l == pytest.approx(sum(r.water_offsite_l for r in train_recs), rel=1e-9)


def test_events_carry_the_same_footprint_as_the_csv(h100_run) -> None:
    tmp, run = h100_run
    data = read_runs(local_provider(str(tmp)), tb_context.RequestContext(), "")["h100"]
    by_seq = {r.seq: r for r in read_records(run.csv_path)}
    for r in data.records:
        c = by_seq[r.seq]
        assert (r.embodied_kg, r.water_onsite_l, r.water_offsite_l, r.embodied_kg_by_device) == \
            (c.embodied_kg, c.water_onsite_l, c.water_offsite_l, c.embodied_kg_by_device)
    parts = data.metadata.footprint["embodied"]["parts"]
    assert parts["gpu:0"]["label"] == "table:nvidia h100 sxm" and parts["host"]["label"] == "class-average:host"
    assert data.metadata.footprint["water"]["wue_label"] == "aws-fleet-2023"


def test_cli_summary_reports_the_footprint_separately(h100_run, capsys) -> None:
    tmp, run = h100_run
    last = read_records(run.csv_path)[-1]
    code, out, err = cli(capsys, "summary", str(tmp), "--json")
    assert code == 0, err
    (s,) = json.loads(out)
    f = s["footprint"]
    assert f["embodied_kg"] == last.run_embodied_kg and f["water_onsite_l"] == last.run_water_onsite_l
    assert s["totals"]["co2_kg"] == last.run_co2_kg, "the CO2 total is unchanged"
    parts = {p["part"]: p for p in f["embodied_parts"]}
    assert parts["gpu:0"]["embodied_kg"] == pytest.approx(last.run_embodied_kg * GPU_KG / (GPU_KG + HOST_KG))
    assert sum(f["water_offsite_by_source_l"].values()) == pytest.approx(last.run_water_offsite_l)
    code, out, _ = cli(capsys, "summary", str(tmp))
    line = next(x for x in out.splitlines() if x.startswith("embodied CO2e"))
    assert format_co2(last.run_embodied_kg) in line and "table:nvidia h100 sxm" in line
    water = next(x for x in out.splitlines() if x.startswith("water on-site"))
    assert "WUE 0.18 L/kWh, aws-fleet-2023" in water


def test_cpu_only_host_is_unknown_not_zero(tmp_path: Path) -> None:
    run = train(tmp_path / "cpu", steps=3, eval_every=0, country="DE", wue=0.4, sysfs_root=str(tmp_path / "none"),
                gpus=[])
    rows = read_rows(run.csv_path)
    assert {r["embodied_kg"] for r in rows} == {""} and {r["run_embodied_kg"] for r in rows} == {""}
    assert all(float(r["water_onsite_l"]) == pytest.approx(float(r["energy_kwh"]) * 0.4) for r in rows)
    assert run.totals.total.embodied_kg is None
    df = read_csv(run.csv_path)  # pandas: unknown is NA, not 0
    assert df["embodied_kg"].isna().all() and df.attrs["units"]["water_onsite_l"] == "L"
    assert df["water_onsite_l"].tolist() == pytest.approx([float(r["water_onsite_l"]) for r in rows])
    text = str(run.totals.footprint["embodied"]["parts"]["host"]["source"])
    assert "host_kgco2e" in text


def test_no_mix_and_no_wue_leave_water_unknown(tmp_path: Path) -> None:
    with GreenSummaryWriter(str(tmp_path / "w"), region="US-CAL-CISO", gpus=[], sysfs_root=str(tmp_path / "n")) as w:
        with w.stage("s"):
            math.fsum(range(1000))
    (r,) = read_records(tmp_path / "w" / "green.csv")
    assert r.mix_kwh == {}, "this zone has no generation mix in the dataset"
    assert (r.water_onsite_l, r.water_offsite_l, r.run_water_offsite_l) == (None, None, None)
    (row,) = read_rows(tmp_path / "w" / "green.csv")
    assert (row["water_onsite_l"], row["water_offsite_l"]) == ("", ""), "unknown, not 0"


@pytest.mark.parametrize("kw, fragment", [({"embodied_options": {"lifetime": 3}}, "unknown key"),
                                          ({"wue": -1}, "wue must be")])
def test_bad_footprint_options_fail_before_anything_is_written(tmp_path: Path, kw: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        GreenSummaryWriter(str(tmp_path / "bad"), country="DE", **kw)
    assert not (tmp_path / "bad").exists()


def test_compare_puts_the_footprint_beside_the_co2(h100_run, capsys) -> None:
    tmp, run = h100_run
    cpu = train(tmp / "cpu", steps=3, eval_every=0, country="DE", gpus=[], sysfs_root=str(tmp / "none")).csv_path
    code, out, err = cli(capsys, "compare", str(tmp / "h100"), str(cpu.parent), "--json")
    assert code == 0, err
    rows = {r["metric"]: r for r in json.loads(out)["rows"]}
    a = read_records(run.csv_path)[-1]
    assert rows["embodied_CO2_kg"]["values"] == [a.run_embodied_kg, None]
    assert rows["embodied_CO2_kg"]["ratios"] == [None], "unknown is not compared as 0"
    assert rows["water_onsite_L"]["values"][0] == a.run_water_onsite_l
    assert rows["CO2_kg"]["values"][0] == pytest.approx(a.run_co2_kg, rel=1e-12)


def test_reports_state_the_footprint_apart_from_the_emissions(h100_run) -> None:
    tmp, run = h100_run
    last = read_records(run.csv_path)[-1]
    f = facts(run_data(tmp / "h100"))
    assert f.co2_kg.value == pytest.approx(last.run_co2_kg, rel=1e-12), "the emissions are the electricity's alone"
    text = report(tmp / "h100", "markdown")
    sentence = next(s for s in text.split(". ") if "Not included in that figure" in s)
    assert f"{last.run_embodied_kg:.3g} kg CO2e" in sentence and "table:nvidia h100 sxm" in sentence
    assert f"{last.run_water_onsite_l:.3g} L on-site (WUE aws-fleet-2023)" in text
    row = next(line for line in text.splitlines() if line.startswith("| Embodied emissions (CO2e), not included above"))
    assert f"{last.run_embodied_kg:.3g} kg" in row
    assert any("Macknick" in c for c in f.citations) and any("NVIDIA" in c for c in f.citations)
    source = model_card.block(f)["source"]
    assert f"not included in emissions: embodied hardware emissions {last.run_embodied_kg * 1000:.3g} g" in source
    assert model_card.block(f)["emissions"] == float(f"{last.run_co2_kg * 1000:.6g}")


def test_whatif_gives_the_water_of_each_place(h100_run) -> None:
    tmp, run = h100_run
    records = read_records(run.csv_path)
    last = records[-1]
    w = whatif(run_data(tmp / "h100"), top=1000)
    assert w.this_run.water_offsite_l == pytest.approx(last.run_water_offsite_l, rel=1e-12)
    assert w.this_run.water_onsite_l == last.run_water_onsite_l
    places = {p.key: p for p in w.cleanest}
    fr_mix = resolve_grid(country="FR").profile.mix
    fr = sum(w.facility_energy_kwh * share * GAL[s] * L_PER_GAL_MWH for s, share in fr_mix.items())
    assert places["FR"].water_offsite_l == pytest.approx(fr, rel=1e-9) and places["FR"].water_onsite_l is None
    aws = places["aws:eu-west-1"]
    assert aws.water_onsite_l == pytest.approx(w.energy_kwh * 0.18, rel=1e-12)
    assert aws.co2_kg != aws.water_offsite_l  # kg and litres stay apart


def test_a_resumed_run_continues_the_footprint_totals(tmp_path: Path) -> None:
    opts = {"country": "DE", "wue": 0.5, "gpus": [], "sysfs_root": str(tmp_path / "n"),
            "embodied_options": {"host_kgco2e": 1000}}
    for _ in range(2):  # the second writer re-opens the same log dir and appends to its CSV
        with GreenSummaryWriter(str(tmp_path / "r"), **opts) as w:
            with w.stage("train"):
                math.fsum(range(20_000))
    records = read_records(tmp_path / "r" / "green.csv")
    assert [r.resume for r in records] == [0, 1]
    last = records[-1]
    assert last.run_water_onsite_l == pytest.approx(sum(r.water_onsite_l for r in records), rel=1e-12)
    assert last.run_embodied_kg == pytest.approx(sum(r.embodied_kg for r in records), rel=1e-12)
    assert last.stage_water_offsite_l == pytest.approx(sum(r.water_offsite_l for r in records), rel=1e-12)
    assert last.run_embodied_kg == pytest.approx(last.run_duration_s / BUSY_S * 1000, rel=1e-9)
