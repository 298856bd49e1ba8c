"""Forecast: a synthetic stage with a known linear cost lands within its band; bad requests are refused."""
from __future__ import annotations

import dataclasses
import random

import pytest

from greenops_tb.analysis.forecast import forecast, steps_per_epoch
from greenops_tb.format.schema import Record

KWH_PER_STEP = 2e-5
PRICE = 0.3  # per kWh
INTENSITY = 400.0  # g/kWh


def _stage(n: int, noise: float, seed: int = 1, steps_per_epoch: int = 50, stride: int = 1) -> list[Record]:
    """A stage whose per-step energy is KWH_PER_STEP times (1 + gaussian noise); CO2 and cost are linear in it."""
    rng = random.Random(seed)
    out, tot_e, tot_t = [], 0.0, 0.0
    for i in range(n):
        e = KWH_PER_STEP * stride * max(0.0, 1.0 + rng.gauss(0.0, noise))
        t = 0.1 * stride * max(0.1, 1.0 + rng.gauss(0.0, noise))
        tot_e += e
        tot_t += t
        step = i * stride
        out.append(Record(
            run="r", stage="train", seq=i, step=step, epoch=step // steps_per_epoch, start_time=tot_t - t,
            end_time=tot_t, duration_s=t, energy_kwh_gpu=0.0, energy_kwh_cpu=e, energy_kwh_ram=0.0, energy_kwh=e,
            facility_energy_kwh=e, avg_power_w=e * 3.6e6 / t, co2_kg=e * INTENSITY / 1000, cost=e * PRICE,
            currency="EUR", price_source="test", carbon_intensity_g_per_kwh=INTENSITY, intensity_source="test",
            location="DE", location_source="argument", pue=1.0, mix_kwh={}, devices={}, watched={},
            stage_duration_s=tot_t, stage_energy_kwh=tot_e, stage_co2_kg=tot_e * INTENSITY / 1000,
            stage_cost=tot_e * PRICE, run_duration_s=tot_t, run_energy_kwh=tot_e,
            run_co2_kg=tot_e * INTENSITY / 1000, run_cost=tot_e * PRICE,
        ))
    return out


def test_known_linear_cost_lands_within_the_band():
    """Over 200 synthetic runs (linear cost + 20% step noise), the 95% band covers the real total ~95% of the time."""
    hits = {"energy": 0, "co2": 0, "cost": 0, "time": 0}
    widths = []
    runs = 200
    for seed in range(runs):
        full = _stage(1000, noise=0.2, seed=seed)
        fc = forecast(full[:100], total_steps=1000, seed=seed)
        truth = full[-1]
        assert fc.done_steps == 100 and fc.total_steps == 1000 and fc.cost is not None
        hits["energy"] += truth.stage_energy_kwh in fc.energy_kwh
        hits["co2"] += truth.stage_co2_kg in fc.co2_kg
        hits["cost"] += truth.stage_cost in fc.cost
        hits["time"] += truth.stage_duration_s in fc.duration_s
        widths.append((fc.energy_kwh.high - fc.energy_kwh.low) / (KWH_PER_STEP * 1000))
    for name, n in hits.items():
        assert 0.90 <= n / runs <= 0.99, f"{name}: band covered the real total in {n} of {runs} runs"
    # informative, not a blanket interval: about +-4% here (20% noise, 100 of 1000 steps seen)
    assert sorted(widths)[runs // 2] < 0.12


def test_noise_free_stage_is_projected_exactly():
    fc = forecast(_stage(40, noise=0.0), total_steps=400)
    assert fc.energy_kwh.estimate == pytest.approx(KWH_PER_STEP * 400, rel=1e-9)
    assert fc.energy_kwh.high - fc.energy_kwh.low == pytest.approx(0.0, abs=1e-15)
    assert fc.cost is not None and fc.cost.estimate == pytest.approx(KWH_PER_STEP * 400 * PRICE, rel=1e-9)
    assert fc.co2_kg.estimate == pytest.approx(KWH_PER_STEP * 400 * INTENSITY / 1000, rel=1e-9)


def test_records_covering_several_steps_count_each_step():
    fc = forecast(_stage(20, noise=0.0, stride=10), total_steps=1000)  # one record per 10 steps
    assert fc.done_steps == 20 * 10  # the first record counts as many steps as the others
    assert fc.energy_kwh.estimate == pytest.approx(KWH_PER_STEP * 1000, rel=1e-9)


def test_epochs_are_converted_with_the_completed_epochs():
    recs = _stage(120, noise=0.0, steps_per_epoch=50)  # epochs 0 and 1 complete, epoch 2 running
    assert steps_per_epoch(recs) == 50
    by_epochs = forecast(recs, total_epochs=10)
    assert by_epochs.total_steps == 500
    assert by_epochs.energy_kwh == forecast(recs, total_steps=500).energy_kwh


def test_band_is_reproducible_and_widens_with_noise():
    recs = _stage(60, noise=0.3)
    a, b = forecast(recs, total_steps=5000), forecast(recs, total_steps=5000)
    assert a == b
    narrow = forecast(_stage(60, noise=0.05), total_steps=5000).energy_kwh
    assert (a.energy_kwh.high - a.energy_kwh.low) > 3 * (narrow.high - narrow.low)


def test_unknown_price_gives_no_cost_forecast():
    recs = [dataclasses.replace(r, cost=None, stage_cost=None) for r in _stage(10, noise=0.1)]
    fc = forecast(recs, total_steps=100)
    assert fc.cost is None and "unknown" in fc.describe()


@pytest.mark.parametrize(
    "records, kwargs, message",
    [
        (_stage(1, 0.1), {"total_steps": 10}, "at least 2 completed intervals"),
        (_stage(10, 0.1), {}, "exactly one of"),
        (_stage(10, 0.1), {"total_steps": 10, "total_epochs": 1}, "exactly one of"),
        (_stage(10, 0.1), {"total_steps": 5}, "below the 10 steps already done"),
        (_stage(10, 0.1), {"total_epochs": 3}, "at least one completed epoch"),
        (_stage(3, 0.1) + [dataclasses.replace(_stage(3, 0.1)[0], stage="eval", seq=9)], {"total_steps": 9},
         "one stage"),
    ],
)
def test_bad_requests_raise_clear_errors(records, kwargs, message):
    with pytest.raises(ValueError, match=message):
        forecast(records, **kwargs)


def test_writer_forecast_projects_a_real_stage(tmp_path):
    """writer.forecast() on a real run with a known power: the projection is the per-step rate times the plan."""
    import time

    from greenops_tb import ConstantPowerSource, GreenSummaryWriter

    watts = 50.0
    with GreenSummaryWriter(str(tmp_path / "run"), country="FR", meters=[ConstantPowerSource({"cpu:0": watts})]) as w:
        w.start("train")
        for _ in range(12):
            time.sleep(0.005)
            w.update("train")
        w.stop("train")
        fc = w.forecast("train", total_steps=120)
        done = w.totals().stages["train"]
    assert fc.done_steps == 13  # 12 updates + the closing stop
    # energy is watts x time, so the projected energy equals watts x projected time (up to clock-read skew)
    assert fc.energy_kwh.estimate == pytest.approx(watts * fc.duration_s.estimate / 3.6e6, rel=1e-3)
    assert fc.energy_kwh.low <= fc.energy_kwh.estimate <= fc.energy_kwh.high
    assert fc.energy_kwh.estimate > done.energy_kwh * 5  # 120 planned steps vs 13 done
    with GreenSummaryWriter(str(tmp_path / "nocsv"), country="FR", csv_path=False,
                            meters=[ConstantPowerSource({"cpu:0": watts})]) as w:
        with pytest.raises(ValueError, match="csv_path=False"):
            w.forecast("train", total_steps=10)
