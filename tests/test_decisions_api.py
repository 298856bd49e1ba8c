"""The Python API gives the CLI's numbers: greenops_tb.whatif / report / ranges, from a path, records or a writer."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import cli
from conftest import require
from decision_runs import CPU_W, RAM_W, has_module

import greenops_tb
from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.readers.csv import read_records


def test_api_from_writer_path_and_records_agree_with_cli(tmp_path: Path, capsys) -> None:
    with GreenSummaryWriter(str(tmp_path / "run"), country="FR", pue=1.1,
                            meters=[ConstantPowerSource({"cpu:0": CPU_W, "ram": RAM_W})]) as w:
        for _ in range(5):
            with w.stage("train"):
                sum(i * i for i in range(20000))
        from_writer = greenops_tb.whatif(w, countries=["DE", "PL"], top=50)
        csv_path = Path(w.csv_path)
    from_path = greenops_tb.whatif(tmp_path / "run", countries=["DE", "PL"], top=50)
    from_records = greenops_tb.whatif(read_records(csv_path), countries=["DE", "PL"], top=50)
    assert [p.co2_kg for p in from_writer.cleanest] == [p.co2_kg for p in from_path.cleanest] \
        == [p.co2_kg for p in from_records.cleanest]
    code, out, err = cli(capsys, "whatif", str(tmp_path / "run"), "--country", "DE,PL", "--top", "50", "--json")
    assert code == 0, err
    cli_json = json.loads(out)
    assert [p["co2_kg"] for p in cli_json["cleanest"]] == [p.co2_kg for p in from_path.cleanest]
    assert cli_json["this_run"]["co2_kg"] == from_path.this_run.co2_kg
    run, stages = greenops_tb.ranges(tmp_path / "run")
    assert run.co2_kg.low < run.co2_kg.value < run.co2_kg.high and set(stages) == {"train"}
    code, text, err = cli(capsys, "whatif", str(tmp_path / "run"), "--country", "DE,PL", "--top", "3")
    assert code == 0 and text.splitlines()[0].startswith("run ") and "cleanest:" in text
    assert f"rank {from_path.rank} of {from_path.places + 1}" in text
    require(has_module("pandas"), "pandas")
    from greenops_tb.analysis.frames import whatif_frame

    df = whatif_frame(from_path)
    assert df.iloc[0]["ranking"] == "this run" and df.iloc[0]["co2_kg"] == from_path.this_run.co2_kg
    assert set(df["key"][1:]) >= {p.key for p in from_path.cleanest}
    with pytest.raises(ValueError, match="run directory"):
        greenops_tb.whatif([1, 2, 3])

