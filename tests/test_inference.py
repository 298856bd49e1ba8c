"""InferenceBench: real models measured side by side, each variant a run every reader and the CLI read."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterator

import pytest
import torch
from cli_runs import cli_process
from torch import nn

from greenops_tb import ConstantPowerSource, InferenceBench
from greenops_tb.analysis.projection import PerKwh, yearly
from greenops_tb.analysis.uncertainty import Range
from greenops_tb.errors import StateError, UsageError
from greenops_tb.format.bench import BENCH_FILE, BenchManifest, Tolerance
from greenops_tb.readers.csv import read_records


@pytest.fixture
def mlp() -> Iterator[nn.Module]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steadier CPU time on a shared machine
    torch.manual_seed(0)
    yield nn.Sequential(nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).eval()
    torch.set_num_threads(threads)


# -- the projection arithmetic, exactly ------------------------------------------------------------------------


def test_projection_arithmetic_is_exact() -> None:
    per_kwh = PerKwh(co2_kg=0.4, cost=0.2, currency="EUR", water_l=1.5, facility_rel=(0.0, 0.58),
                     co2_rel=(0.1, 0.2))
    y = yearly(Range(10.0, 8.0, 13.0), 0.5, 1, 1_000_000, per_kwh)
    # 10 J x 1e6 requests/day x 365 days = 3.65e9 J = 3.65e9 / 3.6e6 kWh = 1013.888... kWh
    assert y.kwh.value == pytest.approx(1013.8888888888889, rel=1e-15)
    assert y.kwh.low == pytest.approx(811.1111111111111, rel=1e-15)  # 8 J
    assert y.kwh.high == pytest.approx(1318.0555555555557, rel=1e-15)  # 13 J
    # the seed's example: 0.5 s x 1,000,000 / 3600 = 138.888... compute hours a day
    assert y.compute_hours_per_day == pytest.approx(138.88888888888889, rel=1e-15)
    # CO2e: 1013.89 kWh x 0.4 kg/kWh = 405.56 kg; low side sqrt(0.2^2 + 0.1^2), high side sqrt(0.3^2 + 0.2^2)
    assert y.co2_kg.value == pytest.approx(405.55555555555554, rel=1e-15)
    assert y.co2_kg.low == pytest.approx(405.55555555555554 * (1 - math.sqrt(0.05)), rel=1e-12)
    assert y.co2_kg.high == pytest.approx(405.55555555555554 * (1 + math.sqrt(0.13)), rel=1e-12)
    # cost: x 0.2 EUR/kWh; PUE error (0, 0.58) on top of the J range (0.2, 0.3)
    assert y.cost is not None and y.cost.value == pytest.approx(202.77777777777777, rel=1e-15)
    assert y.cost.low == pytest.approx(202.77777777777777 * 0.8, rel=1e-12)
    assert y.cost.high == pytest.approx(202.77777777777777 * (1 + math.sqrt(0.09 + 0.3364)), rel=1e-12)
    assert y.water_l is not None and y.water_l.value == pytest.approx(1520.8333333333333, rel=1e-15)
    # a call of 8 requests serves 8: 0.5 s x 1e6 / 8 / 3600
    assert yearly(Range(10.0, 8.0, 13.0), 0.5, 8, 1e6, per_kwh).compute_hours_per_day == pytest.approx(17.36111111111111)
    unknown = yearly(Range(1.0, 1.0, 1.0), 0.1, 1, 10, PerKwh(0.1, None, "", None))
    assert unknown.cost is None and unknown.water_l is None
    with pytest.raises(ValueError, match="requests_per_day"):
        yearly(Range(1.0, 1.0, 1.0), 0.1, 1, -5, per_kwh)


# -- measurements ----------------------------------------------------------------------------------------------


def test_three_times_the_work_measures_costlier(tmp_path: Path, mlp: nn.Module) -> None:
    x = torch.randn(1, 128)

    def once(t: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return mlp(t)

    def thrice(t: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            mlp(t)
            mlp(t)
            return mlp(t)

    bench = InferenceBench(tmp_path / "b", country="DE").add("once", once, x).add("thrice", thrice, x)
    result = bench.run(requests=150, rounds=3, warmup=2)
    base, triple = result.variants
    assert base.comparison == "baseline" and base.modelled  # model-based CPU energy here, labelled so
    assert 2.0 < triple.ratio < 4.5, (base.j_per_request, triple.j_per_request)
    assert triple.comparison not in ("baseline", "within noise")
    assert triple.repeat.low > base.repeat.high  # every round of thrice cost more than any round of once
    assert triple.latency_p50_s > 2 * base.latency_p50_s
    assert triple.outputs_match and base.recommended and not triple.recommended
    assert any("model-based" in n for n in result.notes)


def test_a_variant_that_changes_results_is_flagged_and_never_recommended(tmp_path: Path, mlp: nn.Module) -> None:
    x = torch.randn(4, 128)

    def eager(t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return mlp(t)

    def shifted(t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return mlp(t) + 0.05

    def skipped(t: torch.Tensor) -> torch.Tensor:  # far cheaper: no model at all
        return torch.zeros(t.shape[0], 10)

    bench = InferenceBench(tmp_path / "b", country="DE", tolerance=Tolerance(atol=1e-5, rtol=1e-4))
    bench.add("eager", eager, x).add("shifted", shifted, x).add("skipped", skipped, x)
    result = bench.run(requests=40, batch_size=[1, 4], rounds=2, warmup=1)
    by = {(v.variant, v.batch_size): v for v in result.variants}
    for b in (1, 4):
        assert by[("eager", b)].outputs_match and by[("eager", b)].max_abs_diff == 0.0
        assert not by[("shifted", b)].outputs_match
        assert by[("shifted", b)].max_abs_diff == pytest.approx(0.05, rel=1e-3)
        assert not by[("skipped", b)].outputs_match
        assert by[("skipped", b)].j_per_request.value < by[("eager", b)].j_per_request.value
        assert result.recommended(b).variant == "eager"
    out = cli_process("inference", str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("DIFFER") == 4 and "batch size 4" in out.stdout


def test_each_variant_is_a_run_summary_reads_and_the_cli_projects_it(tmp_path: Path, mlp: nn.Module) -> None:
    x = torch.randn(1, 128)
    bench = InferenceBench(tmp_path / "bench", country="FR", meters=lambda: [ConstantPowerSource({"cpu:0": 20.0})])
    bench.add("a", lambda t: mlp(t).detach(), x).add("b", lambda t: mlp(t).detach(), x)
    result = bench.run(requests=30, rounds=3, warmup=1)
    for name in ("a", "b"):
        out = cli_process("summary", str(tmp_path / "bench" / name), "--json")
        assert out.returncode == 0, out.stderr
        stages = {s["stage"]: s for s in json.loads(out.stdout)[0]["stages"]}
        assert set(stages) == {"warmup", "infer_b1"}
        assert stages["infer_b1"]["samples"] == 90 and stages["infer_b1"]["records_kept"] == 3
        recs = [r for r in read_records(tmp_path / "bench" / name / "green.csv") if r.stage == "infer_b1"]
        j = sum(r.energy_kwh for r in recs) * 3.6e6 / 90
        assert next(v for v in result.variants if v.variant == name).j_per_request.value == pytest.approx(j)
    out = cli_process("inference", str(tmp_path / "bench"), "--requests-per-day", "2000000", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = {r["variant"]: r for r in data["variants"]}
    assert set(rows) == {"a", "b"} and data["baseline"] == "a"
    for r in rows.values():
        assert r["j_per_request_low"] <= r["j_per_request"] <= r["j_per_request_high"]
        assert r["kwh_per_year"] == pytest.approx(r["j_per_request"] * 2e6 * 365 / 3.6e6)
        assert r["compute_hours_per_day"] == pytest.approx(r["latency_p50_s"] * 2e6 / 3600)
        assert r["co2_kg_per_year_low"] <= r["co2_kg_per_year"] <= r["co2_kg_per_year_high"]
        assert r["cost_per_year"] > 0 and r["currency"] == "EUR" and r["outputs_match"] is True
        assert "constant" in r["energy_method"] and r["modelled"] is False
    assert rows["b"]["saving_kwh_per_year"] == pytest.approx(rows["a"]["kwh_per_year"] - rows["b"]["kwh_per_year"])
    # the same numbers from the Python API
    api = {p.result.variant: p for p in result.at_scale(requests_per_day=2_000_000)}
    assert api["b"].year.kwh.value == pytest.approx(rows["b"]["kwh_per_year"])


def test_standard_variants_are_built_or_listed_with_the_reason(tmp_path: Path, mlp: nn.Module) -> None:
    bench = InferenceBench(tmp_path / "std", country="DE")
    names = bench.add_standard(mlp, torch.randn(1, 128), skip=("compile",))
    assert names == ["eager", "inference_mode", "torchscript", "compile", "autocast_bf16", "autocast_fp16",
                     "channels_last"]
    why = {v.name: v.reason for v in bench.variants}
    assert why["compile"] == "left out (skip=)"
    assert "4-D" in why["channels_last"]  # a 2-D input: channels_last does not apply
    assert why["autocast_fp16"]  # CPU: listed with why not
    assert not why["eager"] and not why["torchscript"]
    result = bench.run(requests=20, rounds=2, warmup=1)
    assert {n.variant for n in result.not_built} == {"compile", "autocast_fp16", "channels_last"}
    assert {v.variant for v in result.variants} == {"eager", "inference_mode", "torchscript", "autocast_bf16"}
    ts = next(v for v in result.variants if v.variant == "torchscript")
    assert ts.outputs_match and ts.how == "torch.jit.trace"
    manifest = BenchManifest.loads((tmp_path / "std" / BENCH_FILE).read_text())
    assert [v.name for v in manifest.variants] == names
    out = cli_process("inference", str(tmp_path / "std"))
    assert out.returncode == 0 and "not built:" in out.stdout and "left out (skip=)" in out.stdout


class Untraceable(nn.Module):
    """Returns a Python list: tracing refuses it, and scripting cannot type ``tolist()``."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor):  # noqa: ANN201 - deliberately unannotated for torch.jit.script
        return self.lin(x).tolist()


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_torchscript_that_cannot_be_built_keeps_both_reasons(tmp_path: Path) -> None:
    bench = InferenceBench(tmp_path / "u", country="DE")
    bench.add_standard(Untraceable(), torch.randn(1, 4), skip=("compile", "autocast_bf16"))
    reason = next(v.reason for v in bench.variants if v.name == "torchscript")
    assert "trace failed" in reason and "script failed" in reason


def test_bad_use_is_refused_without_touching_recorded_data(tmp_path: Path, mlp: nn.Module) -> None:
    x = torch.randn(1, 128)
    with pytest.raises(UsageError, match="no variants"):
        InferenceBench(tmp_path / "e").run()
    with pytest.raises(UsageError, match="variant name"):
        InferenceBench(tmp_path / "e").add("a b", mlp, x)
    with pytest.raises(UsageError, match="callable"):
        InferenceBench(tmp_path / "e", meters=[ConstantPowerSource({"cpu:0": 1.0})])
    bench = InferenceBench(tmp_path / "once", country="DE").add("a", lambda t: mlp(t).detach(), x)
    with pytest.raises(UsageError, match="batch_size"):
        bench.run(batch_size=[2, 2])
    bench.run(requests=5, rounds=1, warmup=0)
    before = (tmp_path / "once" / BENCH_FILE).read_text()
    with pytest.raises(StateError, match="run already"):
        bench.run(requests=5, rounds=1)
    again = InferenceBench(tmp_path / "once", country="DE").add("a", lambda t: mlp(t).detach(), x)
    with pytest.raises(UsageError, match="holds a bench already"):
        again.run(requests=5, rounds=1)
    assert (tmp_path / "once" / BENCH_FILE).read_text() == before
    out = cli_process("inference", str(tmp_path))
    assert out.returncode == 2 and "once" in out.stderr and BENCH_FILE in out.stderr


def test_a_variant_failing_in_the_rounds_is_reported_and_the_others_go_on(tmp_path: Path, mlp: nn.Module) -> None:
    x = torch.randn(1, 128)
    calls = {"n": 0}

    def flaky(t: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] > 3:  # the warm-up call passes, a timed call fails
            raise RuntimeError("out of memory (simulated)")
        return mlp(t).detach()

    bench = InferenceBench(tmp_path / "f", country="DE").add("a", lambda t: mlp(t).detach(), x).add("flaky", flaky, x)
    result = bench.run(requests=5, rounds=3, warmup=1)
    assert [v.variant for v in result.variants] == ["a"] and result.variants[0].rounds == 3
    assert [(n.variant, n.reason) for n in result.not_built] == [
        ("flaky", "failed at batch size 1: RuntimeError: out of memory (simulated)")]
    out = cli_process("inference", str(tmp_path / "f"))
    assert out.returncode == 0 and "flaky: failed at batch size 1" in out.stdout

    def broken(t: torch.Tensor) -> torch.Tensor:
        raise ValueError("no")

    with pytest.raises(StateError, match="baseline 'b' failed"):
        InferenceBench(tmp_path / "g", country="DE").add("b", broken, x).run(requests=2, rounds=1)


def test_a_manifest_the_cli_cannot_read_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / BENCH_FILE).write_text('{"version": 99, "variants": []}')
    out = cli_process("inference", str(tmp_path))
    assert out.returncode == 2 and "upgrade greenops_tb" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / BENCH_FILE).write_text("{not json")
    out = cli_process("inference", str(tmp_path))
    assert out.returncode == 2 and "not an inference bench manifest" in out.stderr
