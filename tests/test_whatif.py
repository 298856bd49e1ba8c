"""The same run elsewhere: re-pricing equals a hand computation, per interval for a live-intensity run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import cli
from decision_runs import constant_run, csv_rows, live_run

from greenops_tb.analysis.elsewhere import whatif
from greenops_tb.readers.csv import read_records

# the embedded dataset's values (greenops-tb zones lists them): g/kWh, source, basis; EUR/kWh (Eurostat 2024-S2)
FR, PL, SE3, IE = 44.18, 614.98, 20.0, 279.7
PRICE = {"FR": 0.1785, "PL": 0.21, "IE": 0.2552, "DE": 0.2359}


def _places(result) -> dict:
    return {p["key"]: p for p in result["cleanest"]}


def test_whatif_equals_hand_computation_for_three_zones_and_a_cloud_region(tmp_path: Path, capsys) -> None:
    path = constant_run(tmp_path / "run", pue=1.2)
    last = csv_rows(path)[-1]
    energy, co2, cost = float(last["run_energy_kwh"]), float(last["run_co2_kg"]), float(last["run_cost"])
    code, out, err = cli(capsys, "whatif", str(path), "--pue", "1.5", "--top", "1000", "--json")
    assert code == 0, err
    res = json.loads(out)
    places = _places(res)
    assert res["pue"] == 1.5 and res["facility_energy_kwh"] == pytest.approx(energy * 1.5, rel=1e-12)
    this = res["this_run"]
    assert this["co2_kg"] == pytest.approx(co2 * 1.5 / 1.2, rel=1e-9)  # DE at 344.14 g/kWh, PUE 1.5 instead of 1.2
    assert this["co2_kg"] == pytest.approx(energy * 1.5 * 344.14 / 1000, rel=1e-9)
    assert this["cost"] == pytest.approx(cost * 1.5 / 1.2, rel=1e-9)
    for key, ci in (("FR", FR), ("PL", PL), ("SE-SE3", SE3), ("aws:eu-west-1", IE)):
        expected = energy * 1.5 * ci / 1000
        p = places[key]
        assert p["co2_kg"] == pytest.approx(expected, rel=1e-9), key
        assert p["co2_saving_kg"] == pytest.approx(this["co2_kg"] - expected, rel=1e-9)
        assert p["co2_saving_rel"] == pytest.approx(1 - ci / 344.14, rel=1e-9)
    assert places["aws:eu-west-1"]["zone"] == "IE" and places["aws:eu-west-1"]["kind"] == "cloud"
    assert places["FR"]["cost"] == pytest.approx(energy * 1.5 * PRICE["FR"], rel=1e-9)
    assert places["FR"]["cost_saving_rel"] == pytest.approx(1 - PRICE["FR"] / PRICE["DE"], rel=1e-9)
    assert places["SE-SE3"]["basis"] == "consumption-lifecycle" and places["SE-SE3"]["year"] == 2025
    assert places["SE-SE3"]["same_basis"] is False and places["FR"]["same_basis"] is True
    assert any("mixes intensity bases" in n for n in res["notes"])  # never mixed without saying so
    # ranked: co2 never decreases down the list; this run's place is one more than the cleaner places
    co2s = [p["co2_kg"] for p in res["cleanest"]]
    assert co2s == sorted(co2s)
    assert res["rank"] == 1 + sum(c < this["co2_kg"] for c in co2s)
    costs = [p["cost"] for p in res["cheapest"]]
    assert costs == sorted(costs) and all(c is not None for c in costs)


def test_filters_to_cloud_regions_and_one_basis(tmp_path: Path, capsys) -> None:
    path = constant_run(tmp_path / "run")
    code, out, err = cli(capsys, "whatif", str(path), "--cloud", "aws,gcp", "--basis", "production", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["cleanest"] and all(p["key"].split(":")[0] in ("aws", "gcp") for p in res["cleanest"])
    assert {p["basis"] for p in res["cleanest"]} == {"production"} and res["bases"] == {"production": res["places"]}
    assert not any("mixes" in n for n in res["notes"])
    code, _out, err = cli(capsys, "whatif", str(path), "--cloud", "ibm")
    assert code == 2 and "aws, gcp, azure" in err


def test_live_intensity_run_keeps_its_time_profile(tmp_path: Path) -> None:
    values = [100.0, 400.0, 250.0]
    path = live_run(tmp_path / "live", values, [0.05, 0.6, 0.05], pue=1.1)  # most energy at 400 g/kWh
    rows = csv_rows(path)
    assert [float(r["carbon_intensity_g_per_kwh"]) for r in rows][:3] == values  # a real live run
    # by hand: each interval's energy at its own intensity (one stage: records are the run's intervals)
    energies = [float(r["energy_kwh"]) for r in rows]
    intensities = [float(r["carbon_intensity_g_per_kwh"]) for r in rows]
    own = sum(e * 1.3 * ci / 1000 for e, ci in zip(energies, intensities))
    res = whatif(read_records(path), pue=1.3)
    assert res.this_run.co2_kg == pytest.approx(own, rel=1e-9)
    for v in values:  # the time profile matters: no single intensity prices the whole run the same
        assert abs(res.this_run.co2_kg - sum(energies) * 1.3 * v / 1000) > 0.01 * res.this_run.co2_kg

    # another place with an hourly profile of its own: priced interval by interval at its end time
    ends = [float(r["end_time"]) for r in rows]
    t_mid = ends[1]

    def hourly(zone, t):
        return 10.0 if t < t_mid else 90.0

    res = whatif(read_records(path), pue=1.3, countries=["FR"], intensity_at=hourly)
    by_hand = sum(e * 1.3 * (10.0 if t < t_mid else 90.0) / 1000 for e, t in zip(energies, ends))
    fr = next(p for p in res.cleanest if p.key == "FR")
    assert fr.co2_kg == pytest.approx(by_hand, rel=1e-9)
    assert fr.carbon_intensity_g_per_kwh == pytest.approx(by_hand * 1000 / (sum(energies) * 1.3), rel=1e-9)


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys) -> None:
    path = constant_run(tmp_path / "run", steps=4)
    for pue in ("0.9", "inf", "nan"):
        code, _out, err = cli(capsys, "whatif", str(path), "--pue", pue)
        assert code == 2 and "pue must be a finite number >= 1" in err, (pue, err)
    code, _out, err = cli(capsys, "whatif", str(path), "--country", "XX")
    assert code == 2 and "ISO alpha-2" in err
    code, _out, err = cli(capsys, "whatif", str(tmp_path / "missing"))
    assert code == 2 and "no such directory" in err


def test_choices_are_cloud_regions_and_the_zones_near_the_run(tmp_path: Path, capsys) -> None:
    """``--scope choices`` (the tab's default): every cloud region once, the run's country and the countries of its
    cloud regions' families (DE: aws eu-*, gcp europe-*); no far-away zone the world ranking leads with."""
    path = constant_run(tmp_path / "run", steps=4)
    results = {}
    for scope in ("world", "choices"):
        code, out, err = cli(capsys, "whatif", str(path), "--top", "1000", "--scope", scope, "--json")
        assert code == 0, err
        results[scope] = json.loads(out)
    world, choices = results["world"], results["choices"]
    assert (world["scope"], choices["scope"]) == ("world", "choices")
    zones = {p["key"] for p in choices["cleanest"] if p["kind"] == "zone"}
    clouds = {p["key"] for p in choices["cleanest"] if p["kind"] == "cloud"}
    assert {"DE", "FR", "SE", "IE", "FI", "PL"} <= zones  # aws:eu-north-1 is in SE, gcp:europe-north1 in FI
    assert not zones & {"LS", "NP", "ET", "US", "IN", "SE-SE3"}  # far away, or a subdivision of another country
    assert {"aws:us-east-1", "gcp:europe-north1", "azure:westeurope"} <= clouds
    assert "azure:west europe" not in clouds  # the spelled-out alias of azure:westeurope, counted once
    world_clouds = {p["key"] for p in world["cleanest"] if p["kind"] == "cloud"}
    assert clouds == {k for k in world_clouds if k.replace(" ", "") == k or k.replace(" ", "") not in world_clouds}
    assert choices["places"] == len(zones) + len(clouds) < world["places"]
    # the same place has the same numbers in both rankings; this run's rank is among the choices
    by_key = {p["key"]: p for p in world["cleanest"]}
    assert all(p == by_key[p["key"]] for p in choices["cleanest"])
    assert choices["this_run"] == world["this_run"]
    assert choices["rank"] == 1 + sum(p["co2_kg"] < choices["this_run"]["co2_kg"] for p in choices["cleanest"])
    code, _out, err = cli(capsys, "whatif", str(path), "--scope", "near")
    assert code == 2 and "invalid choice" in err
