"""Hostile live grid answers: Retry-After games, back-off, impossible values, odd shapes, huge bodies.

Every case runs against a local HTTP server; the poller must keep polling (never a dead thread),
warn once, and label the embedded fallback with why.
"""
from __future__ import annotations

import time
import warnings

import pytest

from grid_http import Routes, serve
from greenops_tb.grid.live import LiveGridWarning, base
from greenops_tb.grid import resolve_grid
from test_grid_live import EM_CI, EM_CI_BODY, EM_PB, EM_PB_BODY, UK_GENERATION, UK_INTENSITY, em_grid, ok

MAX_BODY_BYTES = 1 << 20  # the documented bound (greenops_tb.grid.live.http.MAX_BODY_BYTES)


def _poll(routes: Routes, seconds: float, grid_factory):
    """Run a grid against ``routes`` for ``seconds``; (grid, its current value, LiveGridWarnings)."""
    with serve(routes) as url:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grid = grid_factory(url)
            assert grid.wait_first(5)
            time.sleep(seconds)
            cur = grid.current()
            alive = grid._thread.is_alive()
            grid.close()
    return grid, cur, [w for w in caught if issubclass(w.category, LiveGridWarning)], alive


@pytest.mark.parametrize("retry_after", ["0", "-5", "soon", "nan", "1e400"])
def test_retry_after_never_makes_a_tight_loop(retry_after):
    routes = Routes({EM_CI: (429, {"Retry-After": retry_after}, b"{}", 0.0)})
    grid, cur, warned, alive = _poll(routes, 0.6, lambda url: em_grid(url, refresh_s=0.2))
    # floor 0.2 s, then doubling: attempts at 0, 0.2, 0.6 (+0.8 would be 1.4): at most 3 in 0.6 s (+1 for timing)
    assert 2 <= len(routes.seen) <= 4, len(routes.seen)
    assert grid.next_delay_s >= 0.2 and alive and len(warned) == 1
    assert cur.source.startswith("embedded (live failed: rate limited (HTTP 429), retry in ")


def test_failures_back_off_exponentially_up_to_the_cap(monkeypatch):
    monkeypatch.setattr(base, "MAX_BACKOFF_S", 0.4, raising=False)
    routes = Routes({EM_CI: (503, {}, b"busy", 0.0)})
    delays = []
    with serve(routes) as url:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grid = em_grid(url, refresh_s=0.05)
            deadline = time.time() + 10
            while grid.failures < 6 and time.time() < deadline:
                if not delays or delays[-1][0] != grid.failures:
                    delays.append((grid.failures, grid.next_delay_s))
                time.sleep(0.005)
            grid.close()
    by_failures = dict(delays)
    # 0.05 * 2**(n-1), capped at 0.4: 0.05, 0.1, 0.2, 0.4, 0.4
    expected = {1: 0.05, 2: 0.1, 3: 0.2, 4: 0.4, 5: 0.4}
    assert {n: by_failures[n] for n in expected if n in by_failures} == {n: v for n, v in expected.items()
                                                                          if n in by_failures}
    assert len(by_failures) >= 4
    assert sum(issubclass(w.category, LiveGridWarning) for w in caught) == 1


def test_back_off_resets_after_a_success():
    routes = Routes({EM_CI: (500, {}, b"", 0.0), EM_PB: ok(EM_PB_BODY)})
    with serve(routes) as url:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            grid = em_grid(url, refresh_s=0.05)
            deadline = time.time() + 5
            while grid.failures < 3 and time.time() < deadline:
                time.sleep(0.005)
            routes[EM_CI] = ok(EM_CI_BODY)
            while grid.failures and time.time() < deadline:
                time.sleep(0.005)
            grid.close()
    assert grid.failures == 0 and grid.next_delay_s == 0.05
    assert grid.current().carbon_intensity_g_per_kwh == 302


def _with(ci=None, pb=None):
    body = dict(EM_CI_BODY)
    if ci is not None:
        body["carbonIntensity"] = ci
    pbody = dict(EM_PB_BODY)
    if pb is not None:
        pbody["powerConsumptionBreakdown"] = pb
    return Routes({EM_CI: ok(body), EM_PB: ok(pbody)})


HOSTILE = [
    ("negative intensity", _with(ci=-5), "implausible carbon intensity -5 g/kWh"),
    ("NaN intensity", Routes({EM_CI: (200, {}, b'{"carbonIntensity": NaN}', 0.0)}), "carbon intensity nan is not finite"),
    ("infinite intensity", Routes({EM_CI: (200, {}, b'{"carbonIntensity": Infinity}', 0.0)}), "not finite"),
    ("intensity above any real grid", _with(ci=1e6), "implausible carbon intensity 1e+06 g/kWh"),
    ("text intensity", _with(ci="lots"), "carbon intensity 'lots' is not a number"),
    ("boolean intensity", _with(ci=True), "carbon intensity True is not a number"),
    ("object intensity", _with(ci={"v": 1}), "is not a number"),
    ("negative mix part", _with(pb={"coal": 10, "wind": -3}), "mix part 'wind' is negative (-3)"),
    ("text mix part", _with(pb={"coal": "x"}), "mix part 'coal' 'x' is not a number"),
    ("infinite mix part", Routes({EM_CI: ok(EM_CI_BODY),
                                  EM_PB: (200, {}, b'{"powerConsumptionBreakdown": {"gas": Infinity}}', 0.0)}),
     "mix part 'gas' inf is not finite"),
    ("mix is an empty list", _with(pb=[]), "mix is a list"),
    ("mix is a list of objects", _with(pb=[{"coal": 1}]), "mix is a list"),
    ("answer is a list", Routes({EM_CI: ok([1, 2])}), "unexpected response"),
    ("answer is a string", Routes({EM_CI: ok("hello")}), "unexpected response"),
    ("answer is null", Routes({EM_CI: ok(None)}), "unexpected response"),
    ("breakdown answer is a number", Routes({EM_CI: ok(EM_CI_BODY), EM_PB: ok(7)}), "unexpected response"),
    ("deeply nested JSON", Routes({EM_CI: (200, {}, b"[" * 100_000 + b"]" * 100_000, 0.0)}), "malformed JSON"),
    ("body over the size bound", Routes({EM_CI: (200, {}, b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}', 0.0)}),
     f"response larger than {MAX_BODY_BYTES} bytes"),
]


@pytest.mark.parametrize("case, routes, reason", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_answers_fall_back_with_a_label_and_polling_goes_on(case, routes, reason):
    grid, cur, warned, alive = _poll(routes, 0.25, lambda url: em_grid(url, refresh_s=0.05))
    emb = resolve_grid(country="DE", env={}).profile
    assert alive, "the polling thread died"
    assert grid.attempts >= 2  # it retried
    assert cur.source.startswith("embedded (live failed: ") and reason in cur.source, cur.source
    assert cur.carbon_intensity_g_per_kwh == emb.carbon_intensity_g_per_kwh
    assert len(warned) == 1


@pytest.mark.parametrize("mix, reason", [([{"fuel": "gas", "perc": -1}], "mix part 'gas' is negative"),
                                         ({"gas": 1}, "generationmix is a dict"),
                                         ([{"fuel": "gas"}], "unexpected response (KeyError")])
def test_uk_hostile_mix_is_rejected(mix, reason):
    gen = {"data": {**UK_GENERATION["data"], "generationmix": mix}}
    routes = Routes({"/intensity": ok(UK_INTENSITY), "/generation": ok(gen)})
    grid, cur, warned, alive = _poll(routes, 0.1, lambda url: resolve_grid(
        country="GB", live="uk-carbon-intensity", env={}, live_options={"base_url": url, "refresh_s": 0.05}))
    assert alive and len(warned) == 1 and reason in cur.source, cur.source


def test_intensity_at_the_bound_is_accepted():
    grid, cur, warned, alive = _poll(_with(ci=2000), 0.05, lambda url: em_grid(url))
    assert cur.carbon_intensity_g_per_kwh == 2000 and not warned and alive
    assert cur.mix["coal"] == pytest.approx(10000 / 49000)


def test_a_mix_of_huge_parts_is_normalised_not_zeroed():
    """Parts near the largest float sum to inf; the shares are still the parts' proportions."""
    grid, cur, warned, alive = _poll(_with(pb={"coal": 1e308, "wind": 1e308, "gas": 5e307}), 0.05,
                                     lambda url: em_grid(url))
    assert not warned and alive and "live failed" not in cur.source, cur.source
    assert cur.mix["coal"] == pytest.approx(0.4) and cur.mix["wind"] == pytest.approx(0.4)
    assert cur.mix["gas"] == pytest.approx(0.2) and sum(cur.mix.values()) == pytest.approx(1.0)
