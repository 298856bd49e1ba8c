"""The Green tab's backend for the new panels: /whatif answers what `greenops-tb whatif --json` prints, and the
summary carries the efficiency and the ranges; bad parameters are 400s with a message."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import cli
from decision_runs import counted_run
from test_plugin_routes import client, get


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("routes") / "logs"
    counted_run(d / "counted", steps=8)
    return d


def test_whatif_route_equals_the_cli(logdir: Path, capsys) -> None:
    c = client(logdir)
    for query, flags in (("&top=7", ["--top", "7"]), ("&top=6&scope=choices", ["--top", "6", "--scope", "choices"]),
                         ("&top=5&cloud=aws,gcp&pue=1.4", ["--top", "5", "--cloud", "aws,gcp", "--pue", "1.4"])):
        route = get(c, "/whatif?run=counted" + query)
        code, out, err = cli(capsys, "whatif", str(logdir / "counted"), "--json", "--loader", "python", *flags)
        assert code == 0, err
        want = json.loads(out)
        assert route["this_run"] == {**want["this_run"]} and route["rank"] == want["rank"]
        assert [(p["key"], p["co2_kg"], p["cost"]) for p in route["cleanest"]] == \
            [(p["key"], p["co2_kg"], p["cost"]) for p in want["cleanest"]]
        assert route["cheapest"] == want["cheapest"] and route["notes"] == want["notes"]
        assert route["scope"] == want["scope"] == ("choices" if "scope=choices" in query else "world")
    assert all(p["kind"] == "cloud" for p in route["cleanest"]) and route["pue"] == 1.4


def test_summary_route_has_efficiency_and_ranges(logdir: Path, capsys) -> None:
    c = client(logdir)
    s = get(c, "/summary?run=counted")
    code, out, err = cli(capsys, "summary", str(logdir), "--json", "--loader", "python")
    assert code == 0, err
    want = json.loads(out)[0]
    assert s["efficiency"] == want["efficiency"] and s["efficiency"]["unit"] == "sample"
    assert s["efficiency"]["stage"] == "train"  # the stage with the most samples
    assert s["ranges"]["totals"] == want["ranges"]["totals"]
    r = s["ranges"]["totals"]["co2_kg"]
    assert r["low"] < r["value"] == s["totals"]["co2_kg"] < r["high"]


@pytest.mark.parametrize("query, message", [
    ("&top=0", "from 1 to"), ("&top=x", "could not be read"), ("&pue=0.5", "pue must be a finite number >= 1"),
    ("&pue=inf", "pue must be a finite number >= 1"), ("&cloud=ibm", "aws, gcp, azure"), ("&scope=near", "world, choices"),
])
def test_whatif_bad_parameters(logdir: Path, query: str, message: str) -> None:
    body = get(client(logdir), "/whatif?run=counted" + query, 400)
    assert message in body["error"]


def test_whatif_unknown_run(logdir: Path) -> None:
    assert "no green data" in get(client(logdir), "/whatif?run=nope", 404)["error"]
