"""The writer records where its location came from, for the options it passes to the grid layer."""
from __future__ import annotations

from pathlib import Path

import pytest

from greenops_tb import ConstantPowerSource, GreenSummaryWriter
from greenops_tb.readers.csv import read_records


def _one_record(tmp_path: Path, **options: object):
    with GreenSummaryWriter(str(tmp_path / "run"), meters=[ConstantPowerSource({"cpu:0": 10.0})], **options) as w:
        with w.stage("train"):
            pass
        path = w.csv_path
    (rec,) = read_records(path)
    return rec


def test_config_file_location_is_used_and_labelled(tmp_path: Path) -> None:
    cfg = tmp_path / "greenops.toml"
    cfg.write_text('[grid]\ncountry = "FR"\n')
    rec = _one_record(tmp_path, config_path=str(cfg))
    assert (rec.location, rec.location_source) == ("FR", "config:country")


def test_argument_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENOPS_COUNTRY", "PL")
    rec = _one_record(tmp_path, country="SE")
    assert (rec.location, rec.location_source) == ("SE", "argument:country")


def test_environment_is_used_and_labelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENOPS_REGION", "US-CA")
    rec = _one_record(tmp_path)
    assert (rec.location, rec.location_source) == ("US-CA", "env:GREENOPS_REGION")


def test_cloud_region_resolves_to_its_grid_zone(tmp_path: Path) -> None:
    rec = _one_record(tmp_path, cloud="aws:eu-west-1")
    assert rec.location == "IE" and rec.location_source == "argument:cloud"
    assert rec.carbon_intensity_g_per_kwh > 0
