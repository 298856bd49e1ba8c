"""Embedded grid dataset: coverage, mixes, factors, prices, the build script and the zones command."""
from __future__ import annotations

import csv
import gzip
import json
import math
import argparse
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from greenops_tb.grid import LocationError, lifecycle_factors, load, resolve_grid, split_co2_by_source
from greenops_tb.commands import zones
from greenops_tb.grid.dataset import WORLD
from greenops_tb.format.schema import SOURCES

REPO = Path(__file__).resolve().parent.parent
RAW = REPO / "data" / "sources"  # the raw public sources, in the repository
NOENV: dict[str, str] = {}


def test_every_zone_resolves_with_a_labelled_positive_intensity():
    ds = load()
    for key, zone in ds.zones.items():
        g = resolve_grid(region=key, env=NOENV)
        p = g.profile
        assert p.zone == key and p.location_source == "argument:region"
        assert math.isfinite(p.carbon_intensity_g_per_kwh) and 0 < p.carbon_intensity_g_per_kwh < 2000, key
        assert p.intensity_source.rsplit("-", 1)[-1] == str(zone.year)
        assert p.dataset["basis"] in ("production", "consumption-lifecycle")


def test_every_country_resolves_by_alpha2_alpha3_and_name_case_insensitively():
    ds = load()
    countries = [z for z in ds.zones.values() if z.kind == "country"]
    assert len(countries) > 200
    by_alias: dict[str, set[str]] = {}
    for alias, key in ds.aliases.items():
        by_alias.setdefault(key, set()).add(alias)
    for z in countries:
        assert resolve_grid(country=z.key.lower(), env=NOENV).profile.zone == z.key
        for alias in by_alias.get(z.key, ()):
            assert resolve_grid(country=alias.upper(), env=NOENV).profile.zone == z.key, alias
    assert resolve_grid(country="DEU", env=NOENV).profile.zone == "DE"
    assert resolve_grid(country="united states", env=NOENV).profile.zone == "US"


@pytest.mark.parametrize("region, zone, basis", [
    ("US-CA", "US-CA", "production"), ("in-mh", "IN-MH", "production"), ("IN-CT", "IN-CG", "production"),
    ("CA-QC", "CA-QC", "consumption-lifecycle"), ("AU-NSW", "AU-NSW", "consumption-lifecycle"),
    ("AU-ACT", "AU-NSW", "consumption-lifecycle"), ("US-CAL-CISO", "US-CAL-CISO", "consumption-lifecycle"),
    ("SE-SE3", "SE-SE3", "consumption-lifecycle"), ("NO-NO1", "NO-NO1", "consumption-lifecycle"),
])
def test_subnational_codes_and_zone_keys(region, zone, basis):
    p = resolve_grid(region=region, env=NOENV).profile
    assert (p.zone, p.dataset["basis"]) == (zone, basis)


def test_every_cloud_region_maps_to_a_zone_with_an_intensity():
    ds = load()
    providers = {k.split(":")[0] for k in ds.cloud}
    assert {"aws", "gcp", "azure"} <= providers
    for prov in ("aws", "gcp", "azure"):
        assert sum(k.startswith(prov + ":") for k in ds.cloud) >= 20, prov
    for key, region in ds.cloud.items():
        p = resolve_grid(cloud=key.upper(), env=NOENV).profile
        assert p.zone == region.zone and p.carbon_intensity_g_per_kwh > 0
        assert p.location_source == "argument:cloud"
    # a region placed in a whole-country zone uses the country's (production-based) value
    assert resolve_grid(cloud="aws:eu-central-1", env=NOENV).profile.carbon_intensity_g_per_kwh == \
        resolve_grid(country="DE", env=NOENV).profile.carbon_intensity_g_per_kwh


def test_mixes_sum_to_one_and_use_known_sources():
    ds = load()
    with_mix = [z for z in ds.zones.values() if z.mix]
    assert len(with_mix) > 250
    for z in with_mix:
        assert set(z.mix) == set(SOURCES), z.key
        assert abs(sum(z.mix.values()) - 1.0) < 1e-6, z.key
        assert all(v >= 0 for v in z.mix.values())
        assert z.mix_source


def test_world_average_matches_raw_ember_and_owid():
    world = load().zones[WORLD]
    rows = list(csv.DictReader((RAW / "ember_country_carbon_intensity_yearly.csv").open()))
    w = max((r for r in rows if r["country_or_region"] == "World"), key=lambda r: int(r["year"]))
    assert world.carbon_intensity_g_per_kwh == pytest.approx(float(w["emissions_intensity_gco2_per_kwh"]))
    owid = {int(r["year"]): r for r in csv.DictReader((RAW / "owid_world_eu_electricity_2023_2025.csv").open())
            if r["country"] == "World"}[world.year]
    assert world.mix["coal"] == pytest.approx(float(owid["coal_share_elec"]) / 100, abs=1e-4)


def test_owid_zero_means_missing_not_zero_intensity():
    ds = load()
    rows = list(csv.DictReader((RAW / "owid_country_electricity_mix_latest.csv").open()))
    zero = [r["iso2"] for r in rows if r["iso2"] and float(r["carbon_intensity_gco2e_per_kwh"] or 0) == 0]
    for a2 in zero:
        z = ds.zones.get(a2)
        assert z is None or (z.carbon_intensity_g_per_kwh > 0 and not z.intensity_source.startswith("owid")), a2


def test_split_co2_by_source_is_proportional_to_share_times_factor_and_sums():
    f = lifecycle_factors()
    assert (f["coal"], f["gas"], f["nuclear"], f["wind"], f["solar"]) == (820, 490, 12, 12, 48)
    mix = resolve_grid(country="DE", env=NOENV).profile.mix
    parts = split_co2_by_source(2.5, mix)
    assert sum(parts.values()) == pytest.approx(2.5, rel=1e-12)
    assert parts["coal"] / parts["gas"] == pytest.approx(mix["coal"] * 820 / (mix["gas"] * 490))
    assert split_co2_by_source(1.0, {}) == {}
    with pytest.raises(ValueError, match="no emission factor"):
        split_co2_by_source(1.0, {"peat": 1.0})


def test_price_default_override_and_unknown():
    de = resolve_grid(country="DE", env=NOENV).profile
    assert de.currency == "EUR" and 0 < de.price_per_kwh < 1
    assert de.price_source.startswith("eurostat nrg_pc_205 2024-S2") and "excl. VAT" in de.price_source
    assert resolve_grid(region="SE-SE3", env=NOENV).profile.price_per_kwh == \
        resolve_grid(country="SE", env=NOENV).profile.price_per_kwh
    us = resolve_grid(country="US", env=NOENV).profile
    assert (us.price_per_kwh, us.currency, us.price_source) == (None, "", "unknown")
    own = resolve_grid(country="US", price_per_kwh=0.12, env=NOENV).profile
    assert (own.price_per_kwh, own.currency, own.price_source) == (0.12, "USD", "argument")
    assert resolve_grid(country="DE", price_per_kwh=0.3, currency="chf", env=NOENV).profile.currency == "CHF"
    env = resolve_grid(country="JP", env={"GREENOPS_PRICE_PER_KWH": "30", "GREENOPS_CURRENCY": "JPY"}).profile
    assert (env.price_per_kwh, env.currency, env.price_source) == (30.0, "JPY", "env")


@pytest.mark.parametrize("kw, match", [
    (dict(price_per_kwh=-1), "finite number >= 0"), (dict(price_per_kwh="abc"), "not a number"),
    (dict(price_per_kwh=float("nan")), "finite"), (dict(currency="EURO"), "ISO 4217"),
    (dict(currency="USD"), "without price_per_kwh"),
])
def test_bad_price_input_is_a_clear_error(kw, match):
    with pytest.raises(ValueError, match=match):
        resolve_grid(country="DE", env=NOENV, **kw)


def test_world_price_needs_a_currency():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="pass currency="):
            resolve_grid(price_per_kwh=0.2, env=NOENV, use_timezone=False)


@pytest.mark.parametrize("kw, wanted", [
    (dict(country="Germny"), "DE (Germany)"), (dict(country="Untied States"), "US (United States)"),
    (dict(region="US-CX"), "US-TX"), (dict(region="SE-SE5"), "SE-SE3"), (dict(cloud="aws:eu-west-9"), "aws:eu-west-1"),
])
def test_unknown_location_names_input_and_suggests(kw, wanted):
    with pytest.raises(LocationError) as e:
        resolve_grid(env=NOENV, **kw)
    msg = str(e.value)
    assert repr(next(iter(kw.values()))) in msg
    assert wanted in msg and "greenops-tb zones" in msg


def test_cloud_without_provider_prefix_says_how():
    with pytest.raises(LocationError, match="provider:region"):
        resolve_grid(cloud="eu-west-1", env=NOENV)


def test_build_script_reproduces_the_shipped_dataset(tmp_path):
    out = tmp_path / "grid.json.gz"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_dataset.py"), "--data", str(RAW), "--out", str(out)],
                   check=True, capture_output=True)
    shipped = REPO / "greenops_tb" / "grid" / "data" / "grid.json.gz"
    assert json.loads(gzip.decompress(out.read_bytes())) == json.loads(gzip.decompress(shipped.read_bytes()))


def test_build_script_refuses_a_missing_data_dir(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "build_dataset.py"), "--data", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "pass --data" in r.stderr


def test_provenance_notice_names_sources_and_licences():
    text = (REPO / "greenops_tb" / "grid" / "data" / "PROVENANCE.md").read_text()
    for needle in ("Ember", "Our World in Data", "Electricity Maps", "ODbL", "Eurostat", "IPCC AR5", "CC BY 4.0"):
        assert needle in text


def _zones_cli(argv, capsys):
    p = argparse.ArgumentParser()
    zones.add_parser(p.add_subparsers())
    args = p.parse_args(argv)
    rc = args.func(args)
    return rc, capsys.readouterr().out


def test_zones_command_lists_with_year_and_source(capsys):
    rc, out = _zones_cli(["zones", "--search", "sweden"], capsys)
    lines = out.splitlines()
    assert rc == 0 and lines[0].split()[:5] == ["zone", "name", "g/kWh", "year", "source"]
    assert any(ln.startswith("SE-SE3 ") and "electricitymaps-2025 (consumption-lifecycle)" in ln for ln in lines)
    assert any(ln.startswith("SE ") and "ember-" in ln for ln in lines)
    rc, out = _zones_cli(["zones", "--cloud", "--search", "aws:eu-west-1"], capsys)
    assert rc == 0 and "aws:eu-west-1" in out and " IE " in out
    rc, out = _zones_cli(["zones", "--search", "atlantis"], capsys)
    assert rc == 1 and "no zones match" in out


def test_zones_search_through_the_cli_ignores_case_and_accents(capsys):
    from greenops_tb.cli import main

    assert main(["zones", "--search", "QUEBEC"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("CA-QC ") and "Québec" in line for line in out.splitlines())
