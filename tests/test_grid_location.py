"""Location precedence: argument > env > config file > cloud metadata > time zone > world average."""
from __future__ import annotations

import warnings

import pytest

from grid_http import Routes, serve
from greenops_tb.grid import GridLocationWarning, LocationError, resolve_grid
from greenops_tb.grid.location import timezone_country, timezone_name

ALL_ENV = {"GREENOPS_COUNTRY": "FR", "TZ": "Asia/Tokyo"}


@pytest.fixture
def config(tmp_path):
    p = tmp_path / "greenops_tb.toml"
    p.write_text('[grid]\ncountry = "Norway"\n')
    return p


@pytest.fixture
def aws_metadata():
    routes = Routes({
        "/latest/api/token": (200, {}, b"TOKEN123", 0.0),
        "/latest/meta-data/placement/region": (200, {}, b"eu-west-1", 0.0),
    })
    with serve(routes) as url:
        yield url, routes


def test_argument_beats_everything(config, aws_metadata):
    url, _ = aws_metadata
    p = resolve_grid(country="de", config_path=config, detect_cloud=url, env=ALL_ENV).profile
    assert (p.zone, p.location_source) == ("DE", "argument:country")
    p = resolve_grid(country="DE", region="US-CA", env=ALL_ENV).profile  # most specific argument wins
    assert (p.zone, p.location_source) == ("US-CA", "argument:region")
    p = resolve_grid(country="DE", cloud="gcp:europe-west4", env=ALL_ENV).profile
    assert (p.zone, p.location_source) == ("NL", "argument:cloud")


def test_env_beats_config_metadata_and_timezone(config, aws_metadata):
    url, _ = aws_metadata
    p = resolve_grid(config_path=config, detect_cloud=url, env=ALL_ENV).profile
    assert (p.zone, p.location_source) == ("FR", "env:GREENOPS_COUNTRY")
    p = resolve_grid(env={**ALL_ENV, "GREENOPS_REGION": "SE-SE3"}).profile
    assert (p.zone, p.location_source) == ("SE-SE3", "env:GREENOPS_REGION")
    p = resolve_grid(env={"GREENOPS_CLOUD": "azure:westeurope"}).profile
    assert (p.zone, p.location_source) == ("NL", "env:GREENOPS_CLOUD")


def test_config_file_beats_metadata_and_timezone(config, aws_metadata, tmp_path):
    url, routes = aws_metadata
    p = resolve_grid(config_path=config, detect_cloud=url, env={"TZ": "Asia/Tokyo"}).profile
    assert (p.zone, p.location_source) == ("NO", "config:country")
    assert routes.seen == []  # detection not even tried when a higher level answered
    # found through GREENOPS_CONFIG and through XDG_CONFIG_HOME, with a price
    config.write_text('[grid]\nregion = "US-CA"\nprice_per_kwh = 0.31\ncurrency = "USD"\n')
    p = resolve_grid(env={"GREENOPS_CONFIG": str(config)}).profile
    assert (p.zone, p.location_source, p.price_per_kwh, p.price_source) == ("US-CA", "config:region", 0.31, "config")
    p = resolve_grid(env={"XDG_CONFIG_HOME": str(tmp_path)}).profile
    assert p.location_source == "config:region"


def test_bad_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_grid(config_path=tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\ncountry=")
    with pytest.raises(ValueError, match="not valid TOML"):
        resolve_grid(config_path=bad, env={})
    bad.write_text('[grid]\ncountry = "Atlantis"\n')
    with pytest.raises(LocationError, match="Atlantis"):
        resolve_grid(config_path=bad, env={})


def test_cloud_metadata_aws_imdsv2(aws_metadata):
    url, routes = aws_metadata
    p = resolve_grid(detect_cloud=url, env={"TZ": "Asia/Tokyo"}).profile
    assert (p.zone, p.location_source) == ("IE", "cloud-metadata")
    (m1, path1, _), (m2, path2, h2) = routes.seen[:2]
    assert (m1, path1, m2, path2) == ("PUT", "/latest/api/token", "GET", "/latest/meta-data/placement/region")
    assert {k.lower(): v for k, v in h2.items()}["x-aws-ec2-metadata-token"] == "TOKEN123"


@pytest.mark.parametrize("path, headers_key, body, zone", [
    ("/computeMetadata/v1/instance/zone", "Metadata-Flavor", b"projects/42/zones/europe-west4-a", "NL"),
    ("/metadata/instance/compute/location?api-version=2021-02-01&format=text", "Metadata", b"westeurope", "NL"),
])
def test_cloud_metadata_gcp_and_azure(path, headers_key, body, zone):
    routes = Routes({path: (200, {}, body, 0.0)})
    with serve(routes) as url:
        p = resolve_grid(detect_cloud=url, use_timezone=False, env={}).profile
    assert (p.zone, p.location_source) == (zone, "cloud-metadata")
    assert any(headers_key.lower() in {k.lower() for k in h} for _, _, h in routes.seen)


def test_cloud_metadata_is_off_by_default_and_silent_endpoint_falls_through(aws_metadata):
    url, routes = aws_metadata
    p = resolve_grid(env={"TZ": "Asia/Tokyo", "GREENOPS_METADATA_URL": url}).profile
    assert p.location_source == "timezone" and routes.seen == []
    with serve(Routes()) as empty:  # every path 404: no cloud
        p = resolve_grid(detect_cloud=empty, env={"TZ": "Europe/Berlin"}).profile
    assert (p.zone, p.location_source) == ("DE", "timezone")


def test_timezone_hint_and_its_limits():
    assert timezone_name({"TZ": ":Europe/Paris"}) == "Europe/Paris"
    assert timezone_country("Europe/Paris") == "FR"
    assert timezone_country("Etc/UTC") is None
    p = resolve_grid(env={"TZ": "America/Sao_Paulo"}).profile
    assert (p.zone, p.location_source) == ("BR", "timezone")
    with pytest.warns(GridLocationWarning):
        assert resolve_grid(env={"TZ": "Asia/Tokyo"}, use_timezone=False).profile.zone == "WORLD"


def test_world_average_warns_once_with_how_to_set_it():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = resolve_grid(env={"TZ": "Etc/UTC"}).profile
    assert (p.zone, p.location_source, p.name) == ("WORLD", "world-average", "World average")
    msgs = [str(w.message) for w in caught if issubclass(w.category, GridLocationWarning)]
    assert len(msgs) == 1 and "country=" in msgs[0] and "GREENOPS_COUNTRY" in msgs[0]
    assert p.price_per_kwh is None and p.price_source == "unknown"


def test_explicit_location_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_grid(country="DE", env={})
