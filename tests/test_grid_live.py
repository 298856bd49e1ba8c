"""Live providers against a local server shaped like the real APIs: success, slow, 401, 429, 500, bad JSON."""
from __future__ import annotations

import json
import time
import warnings

import pytest

from grid_http import Routes, serve
from greenops_tb.grid import resolve_grid
from greenops_tb.grid.live import LiveGridWarning

EM_CI = "/v3/carbon-intensity/latest?zone=DE"
EM_PB = "/v3/power-breakdown/latest?zone=DE"
EM_CI_BODY = {"zone": "DE", "carbonIntensity": 302, "datetime": "2026-11-26T10:00:00.000Z",
              "updatedAt": "2026-11-26T09:41:53.327Z", "createdAt": "2026-11-23T10:46:18.441Z",
              "emissionFactorType": "lifecycle", "isEstimated": True, "estimationMethod": "TIME_SLICER_AVERAGE"}
EM_PB_BODY = {"zone": "DE", "datetime": "2026-11-26T10:00:00.000Z",
              "powerConsumptionBreakdown": {"nuclear": 0, "geothermal": 20, "biomass": 4000, "coal": 10000,
                                            "wind": 20000, "solar": 5000, "hydro": 1000, "gas": 8000, "oil": 980,
                                            "unknown": 500, "hydro discharge": 300, "battery discharge": None},
              "powerProductionBreakdown": {"coal": 9000}, "fossilFreePercentage": 60,
              "renewablePercentage": 58, "powerConsumptionTotal": 49800, "isEstimated": False}
UK_INTENSITY = {"data": [{"from": "2026-11-26T10:00Z", "to": "2026-11-26T10:30Z",
                          "intensity": {"forecast": 180, "actual": 175, "index": "moderate"}}]}
UK_MIX = [{"fuel": "biomass", "perc": 5.0}, {"fuel": "coal", "perc": 0.0}, {"fuel": "imports", "perc": 10.0},
          {"fuel": "gas", "perc": 30.0}, {"fuel": "nuclear", "perc": 15.0}, {"fuel": "other", "perc": 0.0},
          {"fuel": "hydro", "perc": 2.0}, {"fuel": "solar", "perc": 8.0}, {"fuel": "wind", "perc": 30.0}]
UK_GENERATION = {"data": {"from": "2026-11-26T10:00Z", "to": "2026-11-26T10:30Z", "generationmix": UK_MIX}}
UK_REGION = {"data": [{"regionid": 3, "dnoregion": "Electricity North West", "shortname": "North West England",
                       "data": [{"from": "2026-11-26T10:00Z", "to": "2026-11-26T10:30Z",
                                 "intensity": {"forecast": 120, "index": "low"}, "generationmix": UK_MIX}]}]}


def ok(body) -> tuple:
    return (200, {"Content-Type": "application/json"}, json.dumps(body).encode(), 0.0)


def em_grid(url: str, **opts):
    return resolve_grid(country="DE", live="electricitymaps", env={},
                        live_options={"token": "T0K", "base_url": url + "/v3", "refresh_s": 60, **opts})


def settle(grid, timeout_s: float = 5.0):
    assert grid.wait_first(timeout_s)
    return grid.current()


def test_electricitymaps_success_maps_mix_and_labels_the_value():
    routes = Routes({EM_CI: ok(EM_CI_BODY), EM_PB: ok(EM_PB_BODY)})
    with serve(routes) as url:
        grid = em_grid(url)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cur = settle(grid)
        grid.close()
    assert cur.carbon_intensity_g_per_kwh == 302
    assert cur.source == "electricitymaps-live 2026-11-26T10:00:00.000Z"
    known = 20 + 4000 + 10000 + 20000 + 5000 + 1000 + 8000 + 980  # unknown/storage left out
    assert cur.mix["coal"] == pytest.approx(10000 / known) and cur.mix["other_renewable"] == pytest.approx(20 / known)
    assert abs(sum(cur.mix.values()) - 1) < 1e-9
    assert {k.lower(): v for k, v in routes.seen[0][2].items()}["auth-token"] == "T0K"
    assert grid.profile.zone == "DE" and grid.profile.location_source == "argument:country"


def test_value_is_cached_between_refreshes():
    routes = Routes({EM_CI: ok(EM_CI_BODY), EM_PB: ok(EM_PB_BODY)})
    with serve(routes) as url:
        grid = em_grid(url)
        settle(grid)
        for _ in range(1000):
            grid.current()
        time.sleep(0.1)
        grid.close()
    assert len(routes.seen) == 2 and grid.attempts == 1


def _fallback(status_routes: dict, **opts):
    routes = Routes(status_routes)
    routes.gate.clear()  # the server holds its answers: the first fetch is in flight until the gate opens
    with serve(routes) as url:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grid = em_grid(url, **opts)
            first = grid.current()
            routes.gate.set()
            cur = settle(grid)
            time.sleep(0.05)
        grid.close()
    emb = resolve_grid(country="DE", env={}).profile
    # never blocks the training loop: the first call answers while the fetch it started is still in flight
    assert first.source == "embedded (live pending)"
    assert first.carbon_intensity_g_per_kwh == emb.carbon_intensity_g_per_kwh
    assert cur.carbon_intensity_g_per_kwh == emb.carbon_intensity_g_per_kwh and dict(cur.mix) == dict(emb.mix)
    warned = [str(w.message) for w in caught if issubclass(w.category, LiveGridWarning)]
    assert len(warned) == 1 and "embedded" in warned[0]
    return grid, cur, warned[0]


def test_slow_server_times_out_and_falls_back():
    slow = (200, {}, json.dumps(EM_CI_BODY).encode(), 2.0)
    grid, cur, _ = _fallback({EM_CI: slow, EM_PB: ok(EM_PB_BODY)}, timeout_s=0.5)
    assert cur.source == "embedded (live failed: timeout after 0.5s)"


def test_401_warns_once_with_token_hint_and_stops_polling():
    grid, cur, msg = _fallback({EM_CI: (401, {}, b'{"message":"bad token"}', 0.0)}, refresh_s=0.01)
    assert cur.source == "embedded (live failed: HTTP 401, token rejected)"
    assert "ELECTRICITYMAPS_TOKEN" in msg and grid.attempts == 1


def test_429_honours_retry_after():
    grid, cur, _ = _fallback({EM_CI: (429, {"Retry-After": "7"}, b"{}", 0.0)}, refresh_s=2)
    assert cur.source == "embedded (live failed: rate limited (HTTP 429), retry in 7s)"
    assert grid.next_delay_s == 7.0


def test_500_falls_back():
    grid, cur, _ = _fallback({EM_CI: (500, {}, b"oops", 0.0)})
    assert cur.source == "embedded (live failed: HTTP 500)" and grid.next_delay_s == 60


@pytest.mark.parametrize("body, reason", [(b"{not json", "malformed JSON"),
                                          (b'{"zone": "DE"}', "unexpected response (KeyError")])
def test_malformed_or_unexpected_json_falls_back(body, reason):
    _, cur, _ = _fallback({EM_CI: (200, {}, body, 0.0)})
    assert cur.source.startswith(f"embedded (live failed: {reason}")


def test_recovers_after_a_failure_and_warns_only_once():
    routes = Routes({EM_CI: (500, {}, b"", 0.0), EM_PB: ok(EM_PB_BODY)})
    with serve(routes) as url:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grid = em_grid(url, refresh_s=0.05)
            settle(grid)
            routes[EM_CI] = ok(EM_CI_BODY)
            deadline = time.time() + 5
            while grid.current().source.startswith("embedded") and time.time() < deadline:
                time.sleep(0.02)
            routes[EM_CI] = (500, {}, b"", 0.0)
            while not grid.current().source.startswith("embedded") and time.time() < deadline:
                time.sleep(0.02)
        grid.close()
    assert grid.current().source == "embedded (live failed: HTTP 500)"
    assert sum(issubclass(w.category, LiveGridWarning) for w in caught) == 1


def test_uk_national_regional_and_postcode():
    routes = Routes({"/intensity": ok(UK_INTENSITY), "/generation": ok(UK_GENERATION),
                     "/regional/regionid/3": ok(UK_REGION), "/regional/postcode/RG10": ok(UK_REGION)})
    with serve(routes) as url:
        results = []
        for extra in ({}, {"regionid": 3}, {"postcode": "rg10"}):
            grid = resolve_grid(country="GB", live="uk-carbon-intensity", env={},
                                live_options={"base_url": url, **extra})
            results.append(settle(grid))
            grid.close()
    national, region, postcode = results
    assert national.carbon_intensity_g_per_kwh == 175  # actual preferred over forecast
    assert national.source == "uk-carbon-intensity-live 2026-11-26T10:00Z"
    assert national.mix["wind"] == pytest.approx(30 / 90) and national.mix["coal"] == 0  # imports/other left out
    assert region.carbon_intensity_g_per_kwh == 120 and "North West England" in region.source
    assert postcode == region


def test_uk_failure_falls_back_to_embedded_gb():
    with serve(Routes({"/intensity": (500, {}, b"", 0.0)})) as url:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            grid = resolve_grid(country="GB", live="uk-carbon-intensity", env={}, live_options={"base_url": url})
            cur = settle(grid)
        grid.close()
    assert cur.source == "embedded (live failed: HTTP 500)"
    assert cur.carbon_intensity_g_per_kwh == resolve_grid(country="GB", env={}).profile.carbon_intensity_g_per_kwh


@pytest.mark.parametrize("kw, match", [
    (dict(country="DE", live="electricitymaps"), "needs an API token"),
    (dict(country="DE", live="uk-carbon-intensity"), "Great Britain only"),
    (dict(country="DE", live="watttime"), "not a known provider"),
    (dict(country="GB", live="uk-carbon-intensity", live_options={"zone": "GB"}), "not understood"),
    (dict(country="GB", live="uk-carbon-intensity", live_options={"regionid": 40}), "1..17"),
    (dict(country="DE", live="electricitymaps", live_options={"token": "x", "refresh_s": 0}), "refresh_s"),
])
def test_bad_live_configuration_is_a_clear_error(kw, match):
    with pytest.raises(ValueError, match=match):
        resolve_grid(env={}, **kw)


def test_token_from_environment():
    with serve(Routes({EM_CI: ok(EM_CI_BODY), EM_PB: ok(EM_PB_BODY)})) as url:
        grid = resolve_grid(country="DE", live="electricitymaps", env={"ELECTRICITYMAPS_TOKEN": "E"},
                            live_options={"base_url": url + "/v3"})
        assert settle(grid).carbon_intensity_g_per_kwh == 302
        grid.close()
