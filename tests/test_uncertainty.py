"""Error bars: counters give narrower ranges than models; the documented rule, applied by hand, gives the numbers."""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cli_runs import cli
from decision_runs import constant_run, csv_rows
from fakes.powercap import intel_two_sockets
from training import train

from greenops_tb.analysis import uncertainty
from greenops_tb.display import format_co2, format_range
from greenops_tb.readers.csv import read_records

ROOT = Path(__file__).resolve().parents[1]
# docs/METHOD.md, typed in again: provenance -> half-width
DOC_DEVICE = {"rapl": 0.10, "model-tdp": 0.40, "model-rss": 0.40, "model-tdp-default": 0.60, "constant": 0.10}


def _device_energy(rows: list[dict[str, str]]) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for r in rows:
        for dev, d in json.loads(r["devices_json"]).items():
            out[dev] = (d["provenance"].split(" (")[0], out.get(dev, ("", 0.0))[1] + d["energy_kwh"])
    return out


def _by_hand(rows: list[dict[str, str]], pue_low: float, pue_high: float) -> tuple[float, float]:
    """CO2e relative (low, high) for a DE run (ember-2024, production): docs/METHOD.md's rule by hand."""
    dev = _device_energy(rows)
    total = sum(e for _, e in dev.values())
    u = math.sqrt(sum((DOC_DEVICE[p] * e) ** 2 for p, e in dev.values())) / total
    age = 0.03 * (datetime.fromtimestamp(float(rows[-1]["end_time"]), tz=timezone.utc).year - 2024)
    grid = [0.10, age, 0.10]  # yearly average, data age, production basis
    low = math.sqrt(u * u + pue_low ** 2 + sum(g * g for g in grid))
    high = math.sqrt(u * u + pue_high ** 2 + sum(g * g for g in grid))
    return low, high


def _runs(tmp_path: Path) -> tuple[Path, Path]:
    with intel_two_sockets(tmp_path / "powercap"):
        counters = train(tmp_path / "rapl", steps=16, eval_every=4, country="DE", pue=1.2, gpus="none",
                         sysfs_root=str(tmp_path / "powercap")).csv_path
    models = train(tmp_path / "model", steps=16, eval_every=4, country="DE", pue=1.2, gpus="none",
                   sysfs_root=str(tmp_path / "no-powercap")).csv_path
    return Path(counters), Path(models)


def test_counter_run_is_narrower_than_model_run_and_the_rule_holds(tmp_path: Path, capsys) -> None:
    counters, models = _runs(tmp_path)
    assert {p for p, _ in _device_energy(csv_rows(counters)).values()} == {"rapl"}
    assert all(p.startswith("model") for p, _ in _device_energy(csv_rows(models)).values())
    widths = {}
    for path in (counters, models):
        rows = csv_rows(path)
        run, _stages = uncertainty.run_uncertainty(read_records(path))
        low, high = _by_hand(rows, 0.05, 0.05)
        co2 = float(rows[-1]["run_co2_kg"])
        assert run.co2_kg.value == co2
        assert run.co2_kg.low == pytest.approx(co2 * (1 - low), rel=1e-9)
        assert run.co2_kg.high == pytest.approx(co2 * (1 + high), rel=1e-9)
        widths[path] = (run.co2_kg.high - run.co2_kg.low) / co2
        # IT energy: the device term alone
        dev = _device_energy(rows)
        u = math.sqrt(sum((DOC_DEVICE[p] * e) ** 2 for p, e in dev.values())) / sum(e for _, e in dev.values())
        assert run.energy_kwh.high == pytest.approx(float(rows[-1]["run_energy_kwh"]) * (1 + u), rel=1e-9)
    assert widths[counters] < widths[models]
    # the CLI's summary shows the range and --json carries low/high
    code, out, err = cli(capsys, "summary", str(counters.parent), "--json")
    assert code == 0, err
    total = json.loads(out)[0]["ranges"]["totals"]["co2_kg"]
    run, _ = uncertainty.run_uncertainty(read_records(counters))
    assert (total["low"], total["high"]) == pytest.approx((run.co2_kg.low, run.co2_kg.high), rel=1e-12)
    code, out, _ = cli(capsys, "summary", str(counters.parent))
    shown = format_range(total["value"], total["low"], total["high"], format_co2)
    assert f"CO2e {shown}" in out and re.search(r"\(\S+ \w?g CO2e to \S+ \w?g CO2e\)", out)


def test_assumed_pue_widens_only_the_upper_side(tmp_path: Path) -> None:
    path = constant_run(tmp_path / "run", pue=1.0)
    rows = csv_rows(path)
    run, _ = uncertainty.run_uncertainty(read_records(path))
    low, high = _by_hand(rows, 0.0, 0.58)  # PUE 1.0 assumed: 0 % below, 58 % above
    co2 = float(rows[-1]["run_co2_kg"])
    assert run.co2_kg.low == pytest.approx(co2 * (1 - low), rel=1e-9)
    assert run.co2_kg.high == pytest.approx(co2 * (1 + high), rel=1e-9)
    assert high > low
    dev = _device_energy(rows)
    u = math.sqrt(sum((0.10 * e) ** 2 for _, e in dev.values())) / sum(e for _, e in dev.values())
    assert run.facility_energy_kwh.low == pytest.approx(float(rows[-1]["run_energy_kwh"]) * (1 - u), rel=1e-9)
    assert run.facility_energy_kwh.high == pytest.approx(
        float(rows[-1]["run_energy_kwh"]) * (1 + math.sqrt(u * u + 0.58 ** 2)), rel=1e-9)


def test_every_factor_is_documented_with_its_value_and_source() -> None:
    method = (ROOT / "docs" / "METHOD.md").read_text(encoding="utf-8")
    for label, (width, source) in uncertainty.MEASUREMENT.items():
        row = next((line for line in method.splitlines() if f"`{label}`" in line and line.startswith("|")), None)
        assert row is not None, f"{label} missing from docs/METHOD.md"
        assert f"| {width * 100:g} % |" in row and f"[{source}]" in row, row
    for key in uncertainty.CITATIONS:
        assert f"* [{key}]" in method, key
    for value in (uncertainty.PUE_ASSUMED_HIGH, uncertainty.YEARLY_INTENSITY, uncertainty.PRODUCTION_BASIS,
                  uncertainty.LIVE_INTENSITY, *uncertainty.LOCATION.values()):
        assert f"{value[0] * 100:g} %" in method and f"[{value[1]}]" in method
