"""Reports: the model-card block in grams merged into a real card, CodeCarbon's CSV read by pandas, LaTeX compiles."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runs import cli
from conftest import require
from decision_runs import CPU_W, RAM_W, constant_run, csv_rows, has_module

import greenops_tb
from greenops_tb.api import run_data
from greenops_tb.reports import facts, model_card

DATA = Path(__file__).parent / "data"
# CodeCarbon 3.3.2's emissions.csv header (codecarbon/output_methods/emissions_data.py, EmissionsData), typed in
CODECARBON_COLUMNS = [
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
]
# where the co2 block sits in the fixture card (lines 18-22, 1-based)
BLOCK = slice(17, 22)


@pytest.fixture(scope="module")
def run_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return constant_run(tmp_path_factory.mktemp("reports") / "run", pue=1.2)


def _grams(path: Path) -> float:
    return float(csv_rows(path)[-1]["run_co2_kg"]) * 1000


def test_model_card_block_in_grams_merged_with_other_bytes_identical(run_csv: Path, tmp_path: Path, capsys) -> None:
    original = (DATA / "model_card_README.md").read_bytes()
    card = tmp_path / "README.md"
    card.write_bytes(original)
    code, _out, err = cli(capsys, "report", str(run_csv.parent), "--format", "model-card", "--update", str(card),
                          "--training-type", "fine-tuning")
    assert code == 0, err
    new = card.read_bytes()
    old_lines, new_lines = original.split(b"\n"), new.split(b"\n")
    block = new_lines[BLOCK.start:BLOCK.start + 6]
    assert new_lines[:BLOCK.start] == old_lines[:BLOCK.start]  # everything before, byte for byte
    assert new_lines[BLOCK.start + 6:] == old_lines[BLOCK.stop:]  # and everything after
    assert block[0] == b"co2_eq_emissions:" and all(line.startswith(b"  ") for line in block[1:])
    grams = float(block[1].split(b":", 1)[1])
    assert grams == pytest.approx(_grams(run_csv), rel=1e-5)  # grams, not the kg CodeCarbon reports
    assert grams > 1000 * float(csv_rows(run_csv)[-1]["run_co2_kg"]) * 0.999
    require(has_module("huggingface_hub"), "huggingface_hub (the hf extra)")
    from huggingface_hub import ModelCard

    data = ModelCard(new.decode()).data.to_dict()
    assert data["co2_eq_emissions"]["emissions"] == grams
    assert data["co2_eq_emissions"]["training_type"] == "fine-tuning"
    assert data["co2_eq_emissions"]["geographical_location"] == "Germany (DE)"
    assert data["co2_eq_emissions"]["hardware_used"] == "1 x constant 40 W (cpu), 1 x constant 5 W (ram)"
    before = ModelCard(original.decode()).data.to_dict()
    assert {k: v for k, v in data.items() if k != "co2_eq_emissions"} == \
        {k: v for k, v in before.items() if k != "co2_eq_emissions"}
    # a second update replaces the block again (idempotent), nothing else moves
    code, _out, err = cli(capsys, "report", str(run_csv.parent), "--format", "model-card", "--update", str(card),
                          "--training-type", "fine-tuning")
    assert code == 0 and card.read_bytes() == new



def test_card_without_block_and_crlf_and_no_front_matter(run_csv: Path, tmp_path: Path, monkeypatch) -> None:
    block = model_card.block(facts(run_data(run_csv)))
    original = (DATA / "model_card_no_co2_README.md").read_text(encoding="utf-8")
    head, sep, body = original.partition("\n---\n")  # the front matter's closing line
    merged = model_card.merge(original, block)
    assert merged == head + "\n" + model_card.to_yaml(block).rstrip("\n") + sep + body
    crlf = original.replace("\n", "\r\n")
    merged_crlf = model_card.merge(crlf, block)
    assert merged_crlf == merged.replace("\n", "\r\n")
    plain = "# A card without metadata\n"
    assert model_card.merge(plain, block) == "---\n" + model_card.to_yaml(block) + "---\n" + plain
    # without huggingface_hub (the optional extra) the PyYAML fallback checks the same merge
    require(has_module("yaml"), "PyYAML")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert model_card.update(original, block) == merged
    assert model_card.parse(merged)["co2_eq_emissions"] == block
    broken = original.replace("license: apache-2.0", "license: [apache-2.0")
    with pytest.raises(Exception):
        model_card.update(broken, block)


def test_codecarbon_csv_read_back_by_pandas(run_csv: Path, tmp_path: Path, capsys) -> None:
    require(has_module("pandas"), "pandas")
    import pandas as pd

    out = tmp_path / "emissions.csv"
    code, _out, err = cli(capsys, "report", str(run_csv), "--format", "codecarbon", "-o", str(out))
    assert code == 0, err
    df = pd.read_csv(out)
    assert list(df.columns) == CODECARBON_COLUMNS and len(df) == 1
    last = csv_rows(run_csv)[-1]
    row = df.iloc[0]
    assert row["emissions"] == pytest.approx(float(last["run_co2_kg"]), rel=1e-12)  # kg
    assert row["energy_consumed"] == pytest.approx(float(last["run_energy_kwh"]) * 1.2, rel=1e-12)  # kWh, with PUE
    assert row["duration"] == pytest.approx(float(last["run_duration_s"]), rel=1e-12)  # s
    assert row["cpu_power"] == pytest.approx(CPU_W * 1.2, rel=1e-3)  # W, PUE applied as CodeCarbon does
    assert row["ram_power"] == pytest.approx(RAM_W * 1.2, rel=1e-3) and row["gpu_power"] == 0
    assert row["emissions_rate"] == pytest.approx(row["emissions"] / row["duration"], rel=1e-12)
    assert (row["country_name"], row["country_iso_code"], row["on_cloud"], row["pue"]) == ("Germany", "DEU", "N", 1.2)
    assert row["tracking_mode"] == "process" and pd.isna(row["os"]) and pd.isna(row["longitude"])


def test_statement_markdown_json_and_latex(tmp_path: Path, capsys) -> None:
    path = constant_run(tmp_path / "run", pue=1.2, run_name="lr_0.1 & 50% #2")
    run_dir = str(path.parent)
    code, out, err = cli(capsys, "report", run_dir, "--format", "json")
    assert code == 0, err
    f = json.loads(out)
    last = csv_rows(path)[-1]
    assert f["co2_kg"]["value"] == float(last["run_co2_kg"]) and f["co2_kg"]["low"] < f["co2_kg"]["value"]
    code, md, err = cli(capsys, "report", run_dir)
    co2 = f["co2_kg"]
    assert f"**{co2['value']:.3g} kg CO2e** ({co2['low']:.3g}-{co2['high']:.3g} kg)" in md
    for text in ("chosen by argument:country", "ember-2024, 2024, production basis", "PUE 1.2, as given",
                 f"greenops_tb {greenops_tb.__version__}", "cpu:0 constant 40 W: constant (measured)",
                 "Ember, Yearly Electricity Data", "| Emissions (CO2e) |"):
        assert text in md, text
    assert greenops_tb.report(run_dir, "markdown") == md  # the Python API gives the same text
    tex_path = tmp_path / "impact.tex"
    code, _out, err = cli(capsys, "report", run_dir, "--format", "latex", "--standalone", "-o", str(tex_path))
    assert code == 0, err
    tex = tex_path.read_text(encoding="utf-8")
    assert r"lr\_0.1 \& 50\% \#2" in tex and "lr_0.1 &" not in tex  # special characters escaped
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
    assert tex.count("{") == tex.count("}") + tex.count(r"\{") - tex.count(r"\}")
    assert r"CO\textsubscript{2}e" in tex and f"{co2['low']:.3g}--{co2['high']:.3g}" in tex
    require(shutil.which("pdflatex") is not None, "pdflatex (apt-get install texlive-latex-base)")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "impact.pdf").stat().st_size > 1000


def test_hardware_used_names_the_hardware_and_says_when_modelled(tmp_path: Path) -> None:
    """A model-based run's card names RAM as hardware, not the formula, and says its energy was modelled."""
    from greenops_tb import GreenSummaryWriter
    from greenops_tb.meters.model import ModelRamSource

    with GreenSummaryWriter(str(tmp_path / "run"), country="DE", meters=[ModelRamSource(sample_interval=0.01)]) as w:
        with w.stage("train"):
            sum(range(200_000))
    block = model_card.block(facts(run_data(tmp_path / "run")))
    assert block["hardware_used"] == "1 x RAM (ram, energy modelled: model-rss)"
