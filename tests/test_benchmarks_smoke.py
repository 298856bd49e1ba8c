"""Smoke test of the benchmark harness (benchmarks/) with tiny repeat counts, so it cannot rot.

Runs the real harness: fresh child processes for start-up and idle CPU, the
real GreenSummaryWriter, plain SummaryWriter and torch training steps. The
peers (benchmarks/requirements.txt) are optional here: a peer that is not
installed must still appear in the table with the reason it could not run.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_peers  # noqa: E402
import common  # noqa: E402
import run_all  # noqa: E402
from peers import PEERS, TOOLS  # noqa: E402

TINY = bench_peers.Settings(startup_rounds=1, window_rounds=2, window_target_s=0.002, loop_rounds=2, loop_steps=2,
                            idle_s=0.3, throughput_n=20)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return bench_peers.run(tools=["none", "tensorboard", "greenops"], settings=TINY)


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in rows}


def test_interleave_rotates_order_and_collects_every_round() -> None:
    calls: list[str] = []
    out = common.interleave({k: (lambda k=k: calls.append(k) or float(len(calls))) for k in "abc"}, rounds=3)
    assert calls == list("abcbcacab")
    assert {k: len(v) for k, v in out.items()} == {"a": 3, "b": 3, "c": 3}
    assert common.ratio(3.0, 1.5) == 2.0 and common.ratio(1.0, 0.0) is None


def test_our_writer_and_baselines_are_measured(rows: list[dict]) -> None:
    by = _by_name(rows)
    add = by["one plain SummaryWriter.add_scalar (stock TensorBoard)"]["value"]
    assert 0 < add < 100_000  # microseconds
    for name in ("stage window, measurement only: greenops", "stage window with logging: greenops",
                 "update() with logging: greenops", "user add_scalar through GreenSummaryWriter"):
        r = by[name]
        assert r["value"] > 0 and r["ratio"] == pytest.approx(r["value"] / add)
    start = by["start-up: greenops_tb GreenSummaryWriter"]
    assert 0 < start["value"] < 60 and start["baseline"] == "plain SummaryWriter"
    assert by["memory: greenops_tb GreenSummaryWriter"]["unit"] == "MiB"
    for kind in ("cnn", "mlp"):
        slow = by[f"loop slowdown {kind}: greenops_tb GreenSummaryWriter"]
        assert slow["ratio"] > 0 and slow["value"] == pytest.approx((slow["ratio"] - 1) * 100)
    idle = by[f"background CPU, idle training {TINY.idle_s:.0f} s: greenops_tb GreenSummaryWriter"]
    assert 0 <= idle["value"] < 100
    assert by["records/s (1 event + 1 CSV row each): greenops"]["value"] > 0


def test_every_peer_is_either_runnable_or_gets_a_row_saying_why() -> None:
    avail, missing = bench_peers.available_tools(list(PEERS))
    explained = {r["name"] for r in missing}
    for key in PEERS:
        assert (key in avail) != (TOOLS[key].label in explained)
    assert all(r["value"] is None and r["note"].startswith("cannot run here:") for r in missing)


def test_results_markdown_has_machine_versions_and_every_row(rows: list[dict], tmp_path: Path) -> None:
    md = run_all.format_markdown(rows, "python benchmarks/run_all.py --quick", quick=True, seconds=1.0)
    assert "QUICK mode" in md and "- torch: " in md and "- cpu: " in md
    table = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert len(table) == len(rows) + 1  # header + one line per row
    text = run_all.format_table(rows)
    assert len(text.splitlines()) == len(rows) + 2


def test_a_failing_module_becomes_a_row_and_the_others_still_run(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench_broken.py").write_text("def run(quick=False):\n    raise ValueError('no data dir')\n")
    (tmp_path / "bench_ok.py").write_text(
        "from common import row\ndef run(quick=False):\n    return [row('x', 1.0, 's', note=str(quick))]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    out = run_all.run_modules(["bench_broken", "bench_missing", "bench_ok"], quick=True)
    assert [r["name"] for r in out] == ["bench_broken FAILED", "x"]
    assert "ValueError: no data dir" in out[0]["note"]
    assert out[1]["module"] == "ok" and out[1]["note"] == "True"
