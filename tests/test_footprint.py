"""Embodied emissions and water: hand-computed expectations from the published figures themselves.

Figures used below, as published (see greenops_tb/footprint/data/PROVENANCE.md):
NVIDIA HGX H100 PCF 1312 kgCO2e per 8-GPU baseboard; BLOOM paper (Luccioni et al. 2023) 150 kg per GPU,
2500 kg per 8-GPU node, 6-year lifetime, 85 % utilisation; Macknick et al. 2012 medians in gal/MWh;
AWS fleet WUE 0.18 L/kWh (2023).
"""
from __future__ import annotations

import sys

import pytest
from fakes.fake_nvml import FakeGpu, make_fake_nvml

from greenops_tb.footprint import (
    Footprint,
    FootprintTotals,
    IntervalFootprint,
    resolve_wue,
)
from greenops_tb.footprint.embodied import EmbodiedOptions
from greenops_tb.footprint.water import offsite_water_l
from greenops_tb.grid import resolve_grid
from greenops_tb.meters.base import Device
from greenops_tb.meters.nvml import nvml_sources

BUSY_HOURS = 6 * 8760 * 0.85  # 44,676 h: 6 years of 365 days, busy 85 % of the time
L_PER_GAL = 3.785411784
MACKNICK_GAL_PER_MWH = {"coal": 687, "gas": 198, "oil": 826, "nuclear": 672, "hydro": 4491, "wind": 0, "solar": 1,
                        "bioenergy": 553, "other_renewable": 270}


def _nvml_devices(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[Device]:
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeGpu(f"GPU-fp-{i}", name=n)
                                                               for i, n in enumerate(names)]))
    sources = nvml_sources(env={})
    try:
        return [d for s in sources for d in s.devices]
    finally:
        for s in sources:
            s.close()


def test_h100_over_two_hours_is_its_pcf_share_amortised(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = _nvml_devices(monkeypatch, "NVIDIA H100 80GB HBM3")
    fp = Footprint(devices)
    gpu, host = fp.parts
    assert (gpu.id, gpu.name, gpu.label) == ("gpu:0", "NVIDIA H100 80GB HBM3", "table:nvidia h100 sxm")
    assert gpu.kgco2e == 164.0 and "NVIDIA" in gpu.source and "cradle-to-gate" in gpu.source
    assert host.label == "class-average:host" and host.kgco2e == 2500 / 8  # one of the node's 8 GPUs
    f = fp.interval(7200.0, 1.4, {})
    assert f.embodied_kg_by_device["gpu:0"] == pytest.approx(2 * 164 / BUSY_HOURS, rel=1e-12)  # 7.3417 g
    assert f.embodied_kg_by_device["host"] == pytest.approx(2 * 312.5 / BUSY_HOURS, rel=1e-12)
    assert f.embodied_kg == pytest.approx(2 * (164 + 312.5) / BUSY_HOURS, rel=1e-12)  # 953 kg-h / 44,676 h = 21.33 g
    assert f.embodied_kg == pytest.approx(0.0213314, rel=1e-5)


def test_options_override_lifetime_utilisation_and_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = _nvml_devices(monkeypatch, "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3")
    fp = Footprint(devices, embodied_options={"lifetime_years": 4, "utilisation": 0.5, "host_kgco2e": 4000})
    f = fp.interval(3600.0, 0.0, {})
    busy = 4 * 8760 * 0.5
    assert f.embodied_kg_by_device["gpu:1"] == pytest.approx(164 / busy)
    assert f.embodied_kg_by_device["host"] == pytest.approx(4000 * 2 / 8 / busy)  # two of eight GPUs
    assert fp.parts[-1].label == "argument"
    job = Footprint([Device(f"r{i // 8}/gpu:{i % 8}", "gpu", "NVIDIA H100 80GB HBM3") for i in range(16)])
    assert job.parts[-1].kgco2e == 2 * 2500, "16 GPUs occupy two 8-GPU nodes"


def test_unknown_gpu_gets_the_labelled_class_average_and_a_cpu_host_is_unknown(monkeypatch) -> None:
    (gpu,) = _nvml_devices(monkeypatch, "NVIDIA Fake A100-SXM4-40GB")
    part = Footprint([gpu]).parts[0]
    assert part.label == "class-average:gpu" and part.kgco2e == 150.0 and "no table row" in part.source
    pcie = Footprint([Device("gpu:0", "gpu", "NVIDIA H100 PCIe")]).parts[0]
    assert pcie.label == "class-average:gpu", "the PCF covers SXM boards only"
    cpu_only = Footprint([Device("cpu:0", "cpu", "Intel Xeon"), Device("ram", "ram", "RAM")])
    (host,) = cpu_only.parts
    assert host.kgco2e is None and host.label == "unknown" and "host_kgco2e" in host.source
    f = cpu_only.interval(3600.0, 0.1, {})
    assert f.embodied_kg is None and f.embodied_kg_by_device == {}, "unknown, never a silent zero"
    given = Footprint([Device("cpu:0", "cpu", "x")], embodied_options={"host_kgco2e": 300}).interval(3600.0, 0, {})
    assert given.embodied_kg == pytest.approx(300 / BUSY_HOURS)


@pytest.mark.parametrize("opts, fragment", [
    ({"lifetime": 5}, "unknown key"), ({"utilisation": 1.5}, "(0, 1]"), ({"lifetime_years": 0}, "> 0"),
    ({"host_kgco2e": -1}, ">= 0"), ({"gpu_kgco2e": "150"}, "a number"),
])
def test_bad_embodied_options_say_what_is_allowed(opts: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match="embodied_options") as err:
        EmbodiedOptions.of(opts)
    assert fragment in str(err.value)


def test_onsite_water_from_a_published_cloud_wue_and_from_wue_argument() -> None:
    aws = Footprint([], cloud="aws:eu-west-1")
    assert aws.wue.l_per_kwh == 0.18 and aws.wue.label == "aws-fleet-2023" and "Amazon" in aws.wue.source
    assert aws.interval(60.0, 2.0, {}).water_onsite_l == pytest.approx(0.36)  # 2 kWh x 0.18 L/kWh
    assert Footprint([], wue=0.5, cloud="aws:eu-west-1").interval(60.0, 3.0, {}).water_onsite_l == pytest.approx(1.5)
    gcp = resolve_wue(None, "gcp:europe-west4")
    assert gcp.l_per_kwh is None and gcp.label == "unknown" and "wue=" in gcp.source
    assert Footprint([]).interval(60.0, 3.0, {}).water_onsite_l is None, "unknown, not 0"
    with pytest.raises(ValueError, match="wue must be"):
        resolve_wue(-0.1)


def test_offsite_water_is_the_mix_weighted_sum_of_the_factors() -> None:
    mix = resolve_grid(country="DE").profile.mix
    facility_kwh = 10.0
    mix_kwh = {s: facility_kwh * share for s, share in mix.items()}
    expected = sum(kwh * MACKNICK_GAL_PER_MWH[s] * L_PER_GAL / 1000 for s, kwh in mix_kwh.items())
    assert offsite_water_l(mix_kwh) == pytest.approx(expected, rel=1e-12)
    assert 5 < expected < 30, "10 kWh of German electricity: some litres"
    assert offsite_water_l({"hydro": 1.0}) == pytest.approx(4491 * L_PER_GAL / 1000)  # 17.0 L/kWh
    assert offsite_water_l({}) is None, "no mix: unknown"


def test_totals_stay_unknown_until_something_known_is_added() -> None:
    t = FootprintTotals()
    t.add(IntervalFootprint(None, {}, None, None))
    assert (t.embodied_kg, t.water_onsite_l, t.water_offsite_l) == (None, None, None)
    t.add(IntervalFootprint(0.5, {"gpu:0": 0.5}, 1.0, 2.0))
    t.add(IntervalFootprint(0.25, {"gpu:0": 0.25}, None, 1.0))
    assert (t.embodied_kg, t.water_onsite_l, t.water_offsite_l) == (0.75, 1.0, 3.0)
    assert t.embodied_kg_by_device == {"gpu:0": 0.75}
